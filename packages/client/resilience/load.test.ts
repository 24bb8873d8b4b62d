/**
 * The load run: 200 client sessions x 2 routes, 50 listener calls a second for 60 s, against
 * the dev server's platform with an in-process test app. The clients run in a child process
 * (`support/load-clients.ts`), so the heap it reports is theirs alone. Prints lost patches,
 * duplicated runs and diverged sessions (all must be 0), call-to-patch latency and the clients'
 * heap growth; `LOAD_SESSIONS`, `LOAD_RATE` and `LOAD_SECONDS` change the shape.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type ProtocolServer, startProtocolServer } from "@lenra/devserver/protocol";
import { createTestApp, listener, type TestApp } from "@lenra/devserver/testing";
import { afterAll, describe, expect, it } from "vitest";
import type { LoadResult } from "./support/load-clients.ts";

interface State {
  count: number;
  /** The number of each session's last call, by session. */
  last: Record<string, number>;
}

const SESSIONS = Number(process.env.LOAD_SESSIONS ?? 200);
const RATE = Number(process.env.LOAD_RATE ?? 50);
const SECONDS = Number(process.env.LOAD_SECONDS ?? 60);
const ROUTES = ["route:/counter", "route:/feed"];

let server: ProtocolServer | undefined;

afterAll(async () => {
  await server?.close();
});

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;

describe("load run", () => {
  it(`${SESSIONS} sessions x 2 routes, ${RATE} calls/s for ${SECONDS} s: nothing lost, duplicated or diverged`, async () => {
    const app: TestApp<State> = createTestApp<State>({
      state: { count: 0, last: {} },
      routes: {
        "/counter": {
          roles: ["guest"],
          view: (state) => ({ value: state.count, onIncrement: listener("increment") }),
        },
        "/feed": { roles: ["guest"], view: (state) => ({ total: state.count, last: state.last }) },
      },
      listeners: {
        increment: (state, _props, event) => {
          const { session, n } = event as { session: number; n: number };
          state.count += 1;
          state.last = { ...state.last, [session]: n };
        },
      },
    });
    // Counters stay exact; the log itself is kept short.
    server = await startProtocolServer({ backend: app, eventLogLimit: 100 });
    const child = fork(fileURLToPath(new URL("./support/load-clients.ts", import.meta.url)), {
      execArgv: ["--expose-gc", "--import", "tsx"],
      env: {
        ...process.env,
        LOAD_SOCKET_URL: server.socketUrl,
        LOAD_SESSIONS: String(SESSIONS),
        LOAD_RATE: String(RATE),
        LOAD_SECONDS: String(SECONDS),
      },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const messages: { type: string }[] = [];
    const next = (type: string) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const check = () => {
          const found = messages.find((m) => m.type === type || m.type === "error");
          if (!found) return false;
          if (found.type === "error")
            reject(new Error(String((found as { message?: string }).message)));
          else resolve(found as Record<string, unknown>);
          return true;
        };
        if (check()) return;
        child.on("message", function listen() {
          if (check()) child.off("message", listen);
        });
        child.once("exit", (code) => reject(new Error(`the load clients exited (${code})`)));
      });
    child.on("message", (message) => messages.push(message as { type: string }));

    const calls = (await next("calls-done")) as {
      sent: number;
      ok: number;
      failed: number;
      unsettled: number;
    };
    child.send({ type: "final", count: app.state.count, last: app.state.last });
    const result = (await next("result")) as unknown as LoadResult;

    const runsById = new Map<string, number>();
    for (const call of app.calls) {
      const { session, n } = call.event as { session: number; n: number };
      const id = `${session}-${n}`;
      runsById.set(id, (runsById.get(id) ?? 0) + 1);
    }
    let duplicated = 0;
    for (const runs of runsById.values()) duplicated += Math.max(0, runs - 1);
    const pushed = ROUTES.reduce((sum, topic) => sum + (server?.count("push", topic) ?? 0), 0);
    const lost = pushed - result.applied + result.patchFailures;
    const growth = result.heap.end - result.heap.start;
    const perTenThousand = (growth * 10_000) / Math.max(1, result.heap.patches);
    const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

    console.log(
      [
        `load run: ${SESSIONS} sessions x 2 routes, ${RATE} calls/s for ${SECONDS} s`,
        `  calls: ${calls.sent} sent, ${calls.ok} ok, ${calls.failed} failed; ${app.calls.length} runs on the server`,
        `  documents and patches: ${pushed} pushed by the server, ${result.applied} applied by the clients`,
        `  lost patches: ${lost}`,
        `  duplicated runs: ${duplicated}`,
        `  diverged sessions: ${result.diverged}`,
        `  reconnects: ${result.reconnects}, patches refused: ${result.patchFailures}`,
        `  call-to-patch latency: p50 ${percentile(result.latencies, 50).toFixed(1)} ms, p99 ${percentile(result.latencies, 99).toFixed(1)} ms (${result.latencies.length} calls)`,
        `  client heap after GC: ${kb(result.heap.start)} -> ${kb(result.heap.end)} over ${result.heap.patches} patches (${kb(perTenThousand)} per 10,000 patches)`,
      ].join("\n"),
    );

    expect(calls.unsettled).toBe(0);
    expect(calls.sent).toBe(RATE * SECONDS);
    expect(calls.ok).toBe(calls.sent);
    expect(app.calls.length).toBe(calls.sent);
    expect(lost).toBe(0);
    expect(duplicated).toBe(0);
    expect(result.diverged).toBe(0);
    expect(result.patchFailures).toBe(0);
    expect(result.reconnects).toBe(0);
    expect(result.latencies).toHaveLength(calls.sent);
    expect(result.heap.patches).toBeGreaterThanOrEqual(10_000);
    // Bounded: what the clients hold does not grow with the patches they applied.
    expect(perTenThousand).toBeLessThan(64 * 1024);
  });
});
