import type { JsonValue } from "../shared/json.ts";
import type { ReplyStatus } from "./frames.ts";

/** What the protocol layer did, recorded for tests (see `ProtocolServer.events`). */
export type ProtocolEventData =
  /** An upgrade was accepted and the session opened. */
  | {
      type: "connect";
      socketId: string;
      sessionId: string;
      userId: string | undefined;
      roles: readonly string[];
    }
  /** An upgrade was answered with an HTTP error (403 refused, 400 bad request...). */
  | { type: "refuse"; status: number; reason: string }
  /** A socket closed, for whatever reason. */
  | { type: "disconnect"; socketId: string; code: number; reason: string }
  /** A heartbeat was answered. */
  | { type: "heartbeat"; socketId: string }
  /** A `phx_join` was answered (`status` tells whether it was accepted). */
  | {
      type: "join";
      socketId: string;
      topic: string;
      joinRef: string | null;
      status: ReplyStatus;
      response: JsonValue;
    }
  /** A joined channel ended: left by the client, replaced by a duplicate join, or crashed. */
  | {
      type: "leave";
      socketId: string;
      topic: string;
      joinRef: string | null;
      reason: "left" | "duplicate_join" | "crashed";
    }
  /** A server push on a channel (`ui`, `patchUi`, `error`, or an injected one). */
  | { type: "push"; socketId: string; topic: string; event: string }
  /** A `run` arrived on a route channel. */
  | { type: "run"; socketId: string; topic: string; code: string }
  /** A `run` was answered. */
  | {
      type: "runResult";
      socketId: string;
      topic: string;
      code: string;
      status: ReplyStatus;
      reason?: string;
    }
  /** A message on a topic this socket has not joined got `unmatched topic`. */
  | { type: "unmatched"; socketId: string; topic: string; event: string }
  /** A frame the server could not use, and what it did about it. */
  | {
      type: "malformed";
      socketId: string;
      problem: string;
      action: "replied" | "ignored" | "closed";
    };

/**
 * A recorded event: its data plus a sequence number and a timestamp.
 *
 * @example
 * ```ts
 * const joins = server.events.filter((event) => event.type === "join" && event.status === "ok");
 * ```
 */
export type ProtocolEvent = ProtocolEventData & { readonly seq: number; readonly at: number };

/**
 * The kinds of {@link ProtocolEvent}, as `count` takes them.
 *
 * @example
 * ```ts
 * await server.until(() => server.count("join", "route:/counter") === 2);
 * ```
 */
export type ProtocolEventType = ProtocolEventData["type"];

/**
 * An in-memory log of protocol events with per-type and per-topic counters. Counters stay exact
 * even when old events are dropped to bound memory. Recording is on every push's path (a fan-out
 * to 500 sessions records 500 events), so it allocates nothing but the event itself.
 */
export class EventLog {
  readonly #limit: number;
  /** The newest events, oldest at `#start`, in a ring of at most `#limit` slots. */
  readonly #ring: ProtocolEvent[] = [];
  #start = 0;
  readonly #counts = new Map<string, { total: number; topics: Map<string, number> }>();
  readonly #waiters = new Set<() => void>();
  #seq = 0;

  constructor(limit = 10_000) {
    this.#limit = limit;
  }

  /** Records `data`, which becomes the event itself: pass an object of its own. */
  record(data: ProtocolEventData): void {
    const event = data as ProtocolEventData & { seq: number; at: number };
    event.seq = ++this.#seq;
    event.at = Date.now();
    if (this.#ring.length < this.#limit) {
      this.#ring.push(event);
    } else {
      this.#ring[this.#start] = event;
      this.#start = (this.#start + 1) % this.#limit;
    }
    let counts = this.#counts.get(event.type);
    if (counts === undefined) {
      counts = { total: 0, topics: new Map() };
      this.#counts.set(event.type, counts);
    }
    counts.total++;
    if ("topic" in event) counts.topics.set(event.topic, (counts.topics.get(event.topic) ?? 0) + 1);
    if (this.#waiters.size > 0) for (const wake of [...this.#waiters]) wake();
  }

  get events(): readonly ProtocolEvent[] {
    return [...this.#ring.slice(this.#start), ...this.#ring.slice(0, this.#start)];
  }

  count(type: ProtocolEventType, topic?: string): number {
    const counts = this.#counts.get(type);
    if (counts === undefined) return 0;
    return topic === undefined ? counts.total : (counts.topics.get(topic) ?? 0);
  }

  clear(): void {
    this.#ring.length = 0;
    this.#start = 0;
    this.#counts.clear();
  }

  /**
   * Resolves once `predicate` returns true, checked now, after every recorded event and every
   * 20 ms; rejects after `timeoutMs`.
   */
  until(predicate: () => boolean, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (error?: unknown) => {
        if (settled) return;
        settled = true;
        unsubscribe();
        clearInterval(poll);
        clearTimeout(timer);
        if (error === undefined) resolve();
        else reject(error);
      };
      const check = () => {
        try {
          if (predicate()) finish();
        } catch (error) {
          finish(error);
        }
      };
      const unsubscribe = this.subscribe(check);
      const poll = setInterval(check, 20);
      const timer = setTimeout(
        () => finish(new Error(`until(): the condition was not met within ${timeoutMs} ms.`)),
        timeoutMs,
      );
      check();
    });
  }

  /** Calls `wake` after every recorded event until the returned function is called. */
  subscribe(wake: () => void): () => void {
    this.#waiters.add(wake);
    return () => this.#waiters.delete(wake);
  }
}
