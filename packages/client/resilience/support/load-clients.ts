/**
 * The client side of the load run, in a process of its own so its heap is the clients' alone:
 * `sessions` clients each subscribed to `/counter` and `/feed`, one call every 1000 / `rate` ms
 * round-robin over the sessions, for `seconds`. Started by `load.test.ts` with `--expose-gc`;
 * talks to it over IPC:
 *   -> { type: "calls-done", sent, ok, failed, unsettled }        once every call has settled
 *   <- { type: "final", count, last }                             what the server holds
 *   -> { type: "result", ... }                                    see LoadResult
 */
import { WebSocket } from "ws";
import { createLenraClient, type LenraClient, type Listener } from "../../src/index.ts";

export interface CounterView {
  value: number;
  onIncrement: Listener<{ session: number; n: number }>;
}

export interface FeedView {
  total: number;
  /** The number of each session's last call that ran, by session. */
  last: Record<string, number>;
}

export interface LoadResult {
  type: "result";
  sessions: number;
  /** Documents and patches each view of each session applied (a data change each). */
  applied: number;
  /** Patches that did not apply (each followed by a resync). */
  patchFailures: number;
  /** Sessions whose views, once everything settled, differ from the server's state. */
  diverged: number;
  /** Milliseconds from a call to its id showing in the calling session's feed, sorted. */
  latencies: number[];
  /** Heap after a full GC at the start of the measured window and at its end, with the patches applied in between. */
  heap: { start: number; end: number; patches: number };
  reconnects: number;
}

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SESSIONS = env("LOAD_SESSIONS", 200);
const RATE = env("LOAD_RATE", 50);
const SECONDS = env("LOAD_SECONDS", 60);
const WARMUP_SECONDS = Math.min(5, SECONDS / 4);
const socketUrl = process.env.LOAD_SOCKET_URL ?? "";
const gc = (globalThis as { gc?: () => void }).gc;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const send = (message: object) => process.send?.(message);

interface Session {
  client: LenraClient;
  counter: ReturnType<LenraClient["view"]>;
  feed: ReturnType<LenraClient["view"]>;
  /** Calls of this session waiting to show in its feed: number -> sent at. */
  waiting: Map<number, number>;
}

let applied = 0;
let patchFailures = 0;
let reconnects = 0;
const latencies: number[] = [];

function open(_: unknown, index: number): Session {
  const client = createLenraClient({
    // Guests name the app, as Lenra requires (the test app refuses them otherwise).
    appName: "test-app",
    socketEndpoint: socketUrl,
    transport: WebSocket,
    logger: {
      warn: (message) => {
        if (/patch could not be applied/i.test(message)) patchFailures++;
      },
    },
  });
  const counter = client.view<CounterView>("/counter");
  const feed = client.view<FeedView>("/feed");
  const waiting = new Map<number, number>();
  for (const view of [counter, feed]) {
    let data: unknown;
    view.subscribe(() => {
      const state = view.getSnapshot();
      if (state.data === data) return;
      data = state.data;
      applied++;
      const ran = (state.data as FeedView | undefined)?.last?.[index];
      if (view === feed && ran !== undefined) {
        // A session's calls run in order: every call up to the last one shown has run.
        const now = performance.now();
        for (const [n, sentAt] of waiting) {
          if (n > ran) continue;
          waiting.delete(n);
          latencies.push(now - sentAt);
        }
      }
    });
  }
  let wasOpen = false;
  client.connection.subscribe(() => {
    const { status } = client.connection.getSnapshot();
    if (status === "open" && wasOpen) return;
    if (status !== "open" && wasOpen) reconnects++;
    wasOpen = status === "open";
  });
  return { client, counter, feed, waiting };
}

function heapAfterGc(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

async function main() {
  const sessions = Array.from({ length: SESSIONS }, open);
  for (const { counter, feed } of sessions) {
    for (const view of [counter, feed]) {
      while (view.getSnapshot().status !== "success") await sleep(20);
    }
  }
  const calls = { sent: 0, ok: 0, failed: 0 };
  const pending = new Set<Promise<void>>();
  let next = 0;
  const startedAt = performance.now();
  let heapStart: { heap: number; applied: number } | undefined;
  // One call every 1000 / RATE ms, on schedule (a late tick catches up, never bunches past it).
  for (let n = 0; n < RATE * SECONDS; n++) {
    const due = startedAt + (n * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    if (heapStart === undefined && performance.now() - startedAt >= WARMUP_SECONDS * 1000) {
      heapStart = { heap: heapAfterGc(), applied };
    }
    const index = next;
    next = (next + 1) % sessions.length;
    const session = sessions[index] as Session;
    const listener = (session.counter.getSnapshot().data as CounterView | undefined)?.onIncrement;
    if (!listener) continue;
    calls.sent++;
    session.waiting.set(n, performance.now());
    const call = listener({ session: index, n }).then(
      () => void calls.ok++,
      () => void calls.failed++,
    );
    pending.add(call);
    void call.finally(() => pending.delete(call));
  }
  await Promise.all(pending);
  // Every call shows in its session's feed.
  for (let i = 0; i < 200 && sessions.some((s) => s.waiting.size > 0); i++) await sleep(50);
  const heapEnd = { heap: heapAfterGc(), applied };
  send({ type: "calls-done", ...calls, unsettled: pending.size });

  const final = await new Promise<{ count: number; last: Record<string, number> }>((resolve) =>
    process.once("message", (message) =>
      resolve(message as { count: number; last: Record<string, number> }),
    ),
  );
  const expected = JSON.stringify(Object.entries(final.last).sort());
  const converged = (session: Session) => {
    const counter = session.counter.getSnapshot();
    const feed = session.feed.getSnapshot();
    const last = (feed.data as FeedView | undefined)?.last ?? {};
    return (
      !counter.isStale &&
      !feed.isStale &&
      (counter.data as CounterView | undefined)?.value === final.count &&
      JSON.stringify(Object.entries(last).sort()) === expected
    );
  };
  for (let i = 0; i < 100 && !sessions.every(converged); i++) await sleep(50);
  const result: LoadResult = {
    type: "result",
    sessions: SESSIONS,
    applied,
    patchFailures,
    diverged: sessions.filter((s) => !converged(s)).length,
    latencies: latencies.sort((a, b) => a - b),
    heap: {
      start: heapStart?.heap ?? 0,
      end: heapEnd.heap,
      patches: heapEnd.applied - (heapStart?.applied ?? 0),
    },
    reconnects,
  };
  send(result);
  await Promise.all(sessions.map((s) => s.client.dispose()));
  process.disconnect?.();
}

void main().catch((error: unknown) => {
  send({ type: "error", message: error instanceof Error ? error.stack : String(error) });
  process.exitCode = 1;
  process.disconnect?.();
});
