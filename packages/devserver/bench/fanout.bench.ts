/**
 * Live-update fan-out on a full dev server with the real counter app.
 *
 * SESSIONS sockets (the official phoenix client over ws, on loopback, in a worker thread so that
 * decoding on the client side does not share the server's event loop) join /counter/global.
 * Each applies patches to its own copy of the document in place, as a client that owns its
 * document may: 500 clients share one thread here, and should cost less than what they measure.
 * After WARMUP unmeasured increments, RUNS increments are sent, one every INTERVAL_MS, from
 * SENDERS sessions in turn. The latency of the k-th run is the time from sending it to the moment
 * every session shows a counter that includes k increments (renders fold, so a session may skip
 * values, never go back). Prints p50/p99/max, and whether every session ends on the value the data
 * store holds.
 *
 * Each load is measured on 500 sessions and on 10, the reference, in the same run.
 *
 *   pnpm bench:fanout     SESSIONS=500 RUNS=200 SENDERS=10 WARMUP=50 by default, and
 *                         INTERVAL_MS=20 then 5 unless given
 */
import { fileURLToPath } from "node:url";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import jsonPatch, { type Operation } from "fast-json-patch";
import { type Channel, Socket } from "phoenix";
import { WebSocket } from "ws";
import { EncodedPayload, encodeMessage, encodeReply } from "../src/protocol/frames.ts";

interface Settings {
  socketUrl: string;
  sessions: number;
  runs: number;
  intervalMs: number;
  senders: number;
  warmup: number;
}

interface Report {
  latencies: number[];
  finalValues: number[];
  base: number;
  elapsedMs: number;
  joinMs: number;
}

type FromWorker =
  | { type: "joined"; joinMs: number }
  | { type: "measuring" }
  | { type: "done"; report: Report }
  | { type: "closed" }
  | { type: "failed"; error: string };
type ToWorker = { type: "measure"; base: number } | { type: "close" };

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] as number;
}

/** The reference the figures are compared with: the same load sent to this many sessions. */
const REFERENCE_SESSIONS = 10;

/**
 * The loads measured unless INTERVAL_MS names one: a change every 20 ms (50 a second), then
 * every 5 ms (200 a second, where renders fold and the two cores run out).
 */
const INTERVALS_MS = [20, 5];

async function main(): Promise<void> {
  const base = {
    sessions: Number(process.env.SESSIONS ?? 500),
    runs: Number(process.env.RUNS ?? 200),
    senders: Number(process.env.SENDERS ?? 10),
    warmup: Number(process.env.WARMUP ?? 50),
  };
  const intervals = process.env.INTERVAL_MS ? [Number(process.env.INTERVAL_MS)] : INTERVALS_MS;
  const targets: string[] = [];
  for (const intervalMs of intervals) {
    const settings = { ...base, intervalMs };
    const reference = await measure(devServer, { ...settings, sessions: REFERENCE_SESSIONS });
    const floor = await measure(transportFloor, settings);
    const measured = await measure(devServer, settings, true);
    const figures = (f: Figures) => `p50 ${f.p50.toFixed(1)} ms, p99 ${f.p99.toFixed(1)} ms`;
    const ratio = (of: Figures, key: keyof Figures) => `x${(measured[key] / of[key]).toFixed(1)}`;
    console.log(
      [
        `against ${REFERENCE_SESSIONS} sessions in the same run (${figures(reference)}): p50 ${ratio(reference, "p50")}, p99 ${ratio(reference, "p99")}`,
        `against the transport floor, ${settings.sessions} sessions on a bare Phoenix server folding changes the same way, with no app (${figures(floor)}): p50 ${ratio(floor, "p50")}, p99 ${ratio(floor, "p99")}`,
      ].join("\n"),
    );
    const perSecond = Math.round(1000 / intervalMs);
    targets.push(
      `${perSecond} changes a second: p99 ${measured.p99.toFixed(1)} ms (${measured.p99 <= 30 ? "met" : "NOT met"}; the floor alone ${floor.p99.toFixed(1)} ms)`,
    );
  }
  if (base.sessions === 500) {
    console.log(`\nTarget at 500 sessions, p99 <= 30 ms:\n  ${targets.join("\n  ")}`);
  }
}

interface Figures {
  p50: number;
  p99: number;
}

/** A server the clients measure: where they connect, and the value the counter holds there. */
interface Backend {
  readonly socketUrl: string;
  /** The counter's value as the server holds it. */
  stored(): number;
  /** Documents rendered so far (app view renders, or fan-outs on the floor). */
  renders(): number;
  /** What the server did to get the sessions joined, for the report. */
  describeJoin(): string;
  close(): Promise<void>;
}

/** The dev server running the real counter app. */
async function devServer(): Promise<Backend> {
  const { startDevServer } = await import("../src/index.ts");
  const counterApp = fileURLToPath(new URL("../../../examples/counter-app", import.meta.url));
  const server = await startDevServer({ app: counterApp, port: 0, authPort: 0 });
  return {
    socketUrl: server.socketUrl,
    stored: () =>
      (server.store.find("counter", { query: { user: "global" } })[0]?.count as number) ??
      Number.NaN,
    renders: () => server.stats().viewRenders,
    describeJoin: () =>
      `${server.stats().renderGroups} render group, ${server.stats().viewRenders} view renders`,
    close: () => server.close(),
  };
}

/**
 * What the same clients cost with nothing behind the socket: a bare server speaking just enough
 * Phoenix (joins, heartbeats, `run`) that counts the runs and sends each session the patch, built
 * once. It folds changes as a dev server route does (no fan-out overlaps, and one rests as long as
 * the last one took), so the difference to the dev server is the app, the data and the render.
 */
async function transportFloor(): Promise<Backend> {
  const { WebSocketServer } = await import("ws");
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const joined = new Map<WebSocket, string>();
  let value = 0;
  let fanOuts = 0;
  let dirty = false;
  let running = false;
  let lastFanOutMs = 0;
  let lastFanOutEnd = 0;
  const fanOut = async () => {
    running = true;
    while (dirty) {
      const rest = lastFanOutMs - (performance.now() - lastFanOutEnd);
      if (rest > 1) await new Promise((resolve) => setTimeout(resolve, rest));
      await new Promise((resolve) => setImmediate(resolve));
      dirty = false;
      const start = performance.now();
      const patch = [{ op: "replace", path: "/value", value }];
      const payload = new EncodedPayload(JSON.stringify({ patch }));
      for (const [socket, joinRef] of joined) {
        socket.send(payload.message(joinRef, TOPIC, "patchUi"), { binary: false });
      }
      fanOuts++;
      lastFanOutEnd = performance.now();
      lastFanOutMs = lastFanOutEnd - start;
    }
    running = false;
  };
  server.on("connection", (socket: WebSocket) => {
    socket.on("close", () => joined.delete(socket));
    socket.on("message", (data) => {
      const [joinRef, ref, topic, event] = JSON.parse(String(data)) as [
        string,
        string,
        string,
        string,
      ];
      const reply = () => socket.send(encodeReply(joinRef, ref, topic, "ok", {}));
      if (event === "phx_join") {
        reply();
        joined.set(socket, joinRef);
        const ui = { value, onIncrement: { _type: "listener", code: "increment" } };
        socket.send(encodeMessage(joinRef, null, topic, "ui", ui));
      } else if (event === "run") {
        value++;
        reply();
        dirty = true;
        if (!running) void fanOut();
      } else {
        reply();
      }
    });
  });
  const { port } = server.address() as { port: number };
  return {
    socketUrl: `ws://127.0.0.1:${port}/socket`,
    stored: () => value,
    renders: () => fanOuts,
    describeJoin: () => "bare server",
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const TOPIC = "route:/counter/global";

/** One run on a fresh server; prints its figures when `verbose`. */
async function measure(
  start: () => Promise<Backend>,
  settings: Omit<Settings, "socketUrl">,
  verbose = false,
): Promise<Figures> {
  const server = await start();
  const stored = () => server.stored();

  // A worker does not inherit the tsx loader: it registers it, then loads this same file.
  const entry = `import { register } from ${JSON.stringify(import.meta.resolve("tsx/esm/api"))};
register();
await import(${JSON.stringify(import.meta.url)});`;
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(entry)}`), {
    workerData: { ...settings, socketUrl: server.socketUrl } satisfies Settings,
  });
  const send = (message: ToWorker) => worker.postMessage(message);
  let rendersBefore = 0;
  const report = await new Promise<Report>((resolve, reject) => {
    worker.on("error", reject);
    worker.on("message", (message: FromWorker) => {
      if (message.type === "joined") {
        if (!verbose) return;
        console.log(
          `${settings.sessions} sessions joined /counter/global in ${message.joinMs.toFixed(0)} ms ` +
            `(${server.describeJoin()})`,
        );
      } else if (message.type === "measuring") {
        rendersBefore = server.renders();
        send({ type: "measure", base: stored() });
      } else if (message.type === "done") {
        resolve(message.report);
      } else {
        if (message.type === "failed") reject(new Error(message.error));
      }
    });
  });
  const renders = server.renders() - rendersBefore;
  const finalValue = stored();
  await new Promise<void>((resolve) => {
    worker.on("message", (message: FromWorker) => {
      if (message.type === "closed") resolve();
    });
    send({ type: "close" });
  });
  await worker.terminate();
  await server.close();

  const diverged = report.finalValues.filter((value) => value !== finalValue).length;
  const sorted = [...report.latencies].sort((a, b) => a - b);
  const { runs, sessions, intervalMs, senders } = settings;
  if (diverged > 0 || sorted.length < runs) process.exitCode = 1;
  const figures = { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  if (!verbose) return figures;
  console.log(
    [
      "",
      `${runs} runs, one every ${intervalMs} ms from ${senders} sessions, to ${sessions} sessions`,
      `run -> patchUi on every session: p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${(sorted.at(-1) ?? Number.NaN).toFixed(1)} ms (${sorted.length}/${runs} measured)`,
      `stored value ${finalValue} (${report.base} before the runs); sessions diverged: ${diverged}`,
      `app view renders during the runs: ${renders} for ${runs} changes (wall time ${report.elapsedMs.toFixed(0)} ms)`,
    ].join("\n"),
  );
  return figures;
}

/** The clients: connects, warms up, then measures when the main thread says so. */
async function clients(settings: Settings): Promise<void> {
  const port = parentPort as NonNullable<typeof parentPort>;
  interface Client {
    socket: Socket;
    channel: Channel;
    document: { value: number; onIncrement: { code: string } } | undefined;
    value: number;
  }
  const all: Client[] = [];
  let base = Number.NaN;
  let measuring = false;
  const reached = new Int32Array(settings.runs + 2);
  const sentAt = new Float64Array(settings.runs + 1);
  const latencies: number[] = [];

  const onValue = (client: Client, value: number) => {
    const previous = client.value;
    client.value = value;
    if (!measuring) return;
    const from = Math.max(previous - base, 0);
    const to = Math.min(value - base, settings.runs);
    for (let k = from + 1; k <= to; k++) {
      const count = (reached[k] ?? 0) + 1;
      reached[k] = count;
      if (count === settings.sessions) latencies.push(performance.now() - (sentAt[k] as number));
    }
  };

  const joinStart = performance.now();
  await Promise.all(
    Array.from({ length: settings.sessions }, async () => {
      const socket = new Socket(settings.socketUrl, {
        transport: WebSocket as unknown as new (endpoint: string) => object,
        timeout: 30_000,
        // Guests name the app, as Lenra requires.
        params: { app: "counter-app" },
      });
      socket.connect();
      const channel = socket.channel(TOPIC, { mode: "json" });
      const client: Client = { socket, channel, document: undefined, value: Number.NaN };
      all.push(client);
      await new Promise<void>((resolve, reject) => {
        channel.on("ui", (payload) => {
          client.document = payload as Client["document"];
          onValue(client, client.document?.value ?? Number.NaN);
          resolve();
        });
        channel.on("patchUi", ({ patch }: { patch: Operation[] }) => {
          client.document = jsonPatch.applyPatch(client.document, patch, false, true)
            .newDocument as Client["document"];
          onValue(client, client.document?.value ?? Number.NaN);
        });
        channel.join().receive("error", reject).receive("timeout", reject);
      });
    }),
  );
  port.postMessage({ type: "joined", joinMs: performance.now() - joinStart } satisfies FromWorker);

  const run = (sender: Client) =>
    new Promise<void>((resolve) => {
      sender.channel
        .push("run", { code: sender.document?.onIncrement.code }, 30_000)
        .receive("ok", () => resolve())
        .receive("error", (error) => resolve(console.error("run failed", error)))
        .receive("timeout", () => resolve(console.error("run timed out")));
    });
  const send = async (count: number, before?: (k: number) => void) => {
    const replies: Promise<void>[] = [];
    for (let k = 1; k <= count; k++) {
      before?.(k);
      replies.push(run(all[(k - 1) % settings.senders] as Client));
      await new Promise((resolve) => setTimeout(resolve, settings.intervalMs));
    }
    await Promise.all(replies);
  };

  // Warm-up: the JIT of the server, the app and the clients, unmeasured.
  await send(settings.warmup);
  await waitUntil(() => all.every((client) => client.value === all[0]?.value), 10_000);
  base = await new Promise<number>((resolve) => {
    port.once("message", (message: ToWorker) => {
      if (message.type === "measure") resolve(message.base);
    });
    port.postMessage({ type: "measuring" } satisfies FromWorker);
  });
  measuring = true;
  const start = performance.now();
  await send(settings.runs, (k) => {
    sentAt[k] = performance.now();
  });
  await waitUntil(() => latencies.length >= settings.runs, 30_000);
  const report: Report = {
    latencies,
    finalValues: all.map((client) => client.document?.value ?? Number.NaN),
    base,
    elapsedMs: performance.now() - start,
    joinMs: 0,
  };
  port.postMessage({ type: "done", report } satisfies FromWorker);
  await new Promise<void>((resolve) => {
    port.on("message", (message: ToWorker) => {
      if (message.type === "close") resolve();
    });
  });
  await Promise.all(
    all.map((client) => new Promise<void>((resolve) => client.socket.disconnect(() => resolve()))),
  );
  port.postMessage({ type: "closed" } satisfies FromWorker);
}

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

if (isMainThread) {
  await main();
} else {
  await clients(workerData as Settings).catch((error: unknown) => {
    parentPort?.postMessage({ type: "failed", error: String(error) } satisfies FromWorker);
  });
}
