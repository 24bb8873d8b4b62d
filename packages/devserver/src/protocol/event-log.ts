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
 * even when old events are dropped to bound memory.
 */
export class EventLog {
  readonly #limit: number;
  readonly #events: ProtocolEvent[] = [];
  readonly #counts = new Map<string, number>();
  readonly #waiters = new Set<() => void>();
  #seq = 0;

  constructor(limit = 10_000) {
    this.#limit = limit;
  }

  record(data: ProtocolEventData): void {
    const event = { ...data, seq: ++this.#seq, at: Date.now() } as ProtocolEvent;
    this.#events.push(event);
    if (this.#events.length > this.#limit) this.#events.shift();
    this.#bump(event.type);
    if ("topic" in event) this.#bump(`${event.type}\u0000${event.topic}`);
    for (const wake of [...this.#waiters]) wake();
  }

  get events(): readonly ProtocolEvent[] {
    return this.#events.slice();
  }

  count(type: ProtocolEventType, topic?: string): number {
    return this.#counts.get(topic === undefined ? type : `${type}\u0000${topic}`) ?? 0;
  }

  clear(): void {
    this.#events.length = 0;
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

  #bump(key: string): void {
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }
}
