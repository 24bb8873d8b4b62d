/**
 * The dev server's command line killed with SIGKILL under open clients that keep calling a
 * listener, then restarted on the same port and data file: the clients must reconnect by
 * themselves, every view must converge on the server's value, and every call must have either
 * resolved or rejected with a typed error; none may have run twice (the counter never grows more
 * than the calls sent), and none that resolved may be lost (with `--data`, the dev server replies
 * once the call's writes are on disk, so the counter grows at least by the calls that resolved).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import {
  createLenraClient,
  type LenraClient,
  LenraError,
  LenraErrorCode,
  type LenraView,
  type Listener,
} from "../src/index.ts";
import { waitFor } from "../test/support/server.ts";
import { alive, appPid, type RunningCli, startCli } from "./support/cli.ts";

interface Counter {
  value: number;
  onIncrement: Listener;
}

const CLIENTS = 8;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let dir: string | undefined;
const clis: RunningCli[] = [];
const clients: LenraClient[] = [];

afterAll(async () => {
  await Promise.all(clients.map((client) => client.dispose()));
  for (const cli of clis) {
    cli.process.kill("SIGTERM");
    await cli.exited;
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Calls the view's listener again and again until `stop()`, counting the outcomes. */
function hammer(view: LenraView<Counter>) {
  const outcome = { sent: 0, ok: 0, errors: [] as unknown[] };
  let running = true;
  const done = (async () => {
    while (running) {
      const state = view.getSnapshot();
      if (state.status !== "success" || state.isStale || !state.data) {
        await sleep(20);
        continue;
      }
      outcome.sent += 1;
      try {
        await state.data.onIncrement();
        outcome.ok += 1;
      } catch (error) {
        outcome.errors.push(error);
      }
    }
  })();
  return {
    outcome,
    async stop() {
      running = false;
      await done;
    },
  };
}

describe("dev server killed with SIGKILL under open clients", () => {
  it("reconnects every client, converges every view, and runs no call twice", async () => {
    dir = await mkdtemp(join(tmpdir(), "lenra-kill-"));
    const data = join(dir, "data.json");
    let cli = await startCli({ port: 0, data });
    clis.push(cli);
    const views: LenraView<Counter>[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const client = createLenraClient({
        appName: "counter-app",
        socketEndpoint: cli.socketUrl,
        transport: WebSocket,
        heartbeatIntervalMs: 1000,
        connectTimeoutMs: 2000,
        listenerTimeoutMs: 3000,
      });
      clients.push(client);
      const view = client.view<Counter>("/counter/global");
      view.subscribe(() => {});
      views.push(view);
    }
    for (const view of views)
      await waitFor(view, (s) => s.status === "success", { timeoutMs: 60_000 });
    const initial = views[0]?.getSnapshot().data?.value ?? 0;
    const hammers = views.map(hammer);
    await sleep(1500);

    const app = appPid(cli);
    cli.process.kill("SIGKILL");
    expect(await cli.exited).toBe("SIGKILL");
    for (const view of views) await waitFor(view, (s) => s.isStale, { timeoutMs: 30_000 });
    // The app the dev server started goes with it.
    if (app !== undefined) {
      for (let i = 0; i < 200 && alive(app); i++) await sleep(50);
      expect(alive(app)).toBe(false);
    }
    cli = await startCli({ port: cli.port, data });
    clis.push(cli);
    for (const view of views) await waitFor(view, (s) => !s.isStale, { timeoutMs: 60_000 });
    await sleep(1500);
    await Promise.all(hammers.map((h) => h.stop()));

    // A fresh client reads what the server holds; every view must show it.
    const reader = createLenraClient({
      appName: "counter-app",
      socketEndpoint: cli.socketUrl,
      transport: WebSocket,
    });
    clients.push(reader);
    const truth = reader.view<Counter>("/counter/global");
    truth.subscribe(() => {});
    const final = (await waitFor(truth, (s) => s.status === "success")).data?.value ?? 0;
    for (const view of views) {
      await waitFor(view, (s) => s.status === "success" && !s.isStale && s.data?.value === final);
    }

    const sent = hammers.reduce((sum, h) => sum + h.outcome.sent, 0);
    const ok = hammers.reduce((sum, h) => sum + h.outcome.ok, 0);
    const errors = hammers.flatMap((h) => h.outcome.errors);
    // Every failure is typed: the outcome of a call cut by the kill is unknown; a call made
    // with a listener of the previous session may be refused, without running.
    for (const error of errors) {
      expect(error).toBeInstanceOf(LenraError);
      expect([LenraErrorCode.ListenerOutcomeUnknown, LenraErrorCode.ListenerFailed]).toContain(
        (error as LenraError).code,
      );
    }
    const unknown = errors.filter(
      (e) => (e as LenraError).code === LenraErrorCode.ListenerOutcomeUnknown,
    ).length;
    const grown = final - initial;
    // At most once: the counter never grew by more than the calls sent.
    expect(grown).toBeLessThanOrEqual(sent);
    // Nothing acknowledged is lost: every call that resolved is in the data file.
    expect(grown).toBeGreaterThanOrEqual(ok);
    expect(ok).toBeGreaterThan(0);
    console.log(
      `SIGKILL under ${CLIENTS} clients: ${sent} calls sent, ${ok} ok, ${unknown} outcome unknown, ` +
        `${errors.length - unknown} refused; counter grew by ${grown} ` +
        `(${grown - ok} by calls whose reply the kill cut)`,
    );
  });
});
