/**
 * What durable acknowledgements cost: with `--data`, a listener's reply waits until its writes
 * are on disk (concurrent calls share a save, which writes the whole file). The real counter
 * app on a full dev server: without a data file, with one, and with one that also holds FILLER
 * other documents (about 100 bytes each). SESSIONS guests each send CALLS increments one after
 * another (all sessions at once). Prints calls per second and the call latency (run -> ok) of
 * each, and their ratios to the first.
 *
 *   pnpm bench:durable-acks      SESSIONS=10 CALLS=100 FILLER=10000 by default
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Channel, Socket } from "phoenix";
import { WebSocket } from "ws";
import { startDevServer } from "../src/index.ts";

const sessions = Number(process.env.SESSIONS ?? 10);
const calls = Number(process.env.CALLS ?? 100);
const filler = Number(process.env.FILLER ?? 10_000);
const counterApp = fileURLToPath(new URL("../../../examples/counter-app", import.meta.url));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

async function measure(data: string | undefined, fillerDocs = 0) {
  const server = await startDevServer({ app: counterApp, port: 0, authPort: 0, data });
  server.store.insertMany(
    "filler",
    Array.from({ length: fillerDocs }, (_, i) => ({ n: i, text: `document ${i} `.repeat(5) })),
  );
  const channels: { socket: Socket; channel: Channel; code: string }[] = [];
  for (let i = 0; i < sessions; i++) {
    const socket = new Socket(server.socketUrl, {
      transport: WebSocket as unknown as new (endpoint: string) => object,
      params: { app: "counter-app" },
      timeout: 30_000,
    });
    socket.connect();
    const channel = socket.channel("route:/counter/global", { mode: "json" });
    const code = await new Promise<string>((resolve, reject) => {
      channel.on("ui", (payload: { onIncrement: { code: string } }) =>
        resolve(payload.onIncrement.code),
      );
      channel.join().receive("error", reject).receive("timeout", reject);
    });
    channels.push({ socket, channel, code });
  }
  const run = ({ channel, code }: (typeof channels)[number]) =>
    new Promise<number>((resolve, reject) => {
      const sent = performance.now();
      channel
        .push("run", { code }, 30_000)
        .receive("ok", () => resolve(performance.now() - sent))
        .receive("error", (error) => reject(new Error(JSON.stringify(error))))
        .receive("timeout", () => reject(new Error("run timed out")));
    });
  // Warm-up, unmeasured.
  await Promise.all(channels.map(run));
  const latencies: number[] = [];
  const start = performance.now();
  await Promise.all(
    channels.map(async (session) => {
      for (let i = 0; i < calls; i++) latencies.push(await run(session));
    }),
  );
  const elapsed = performance.now() - start;
  await Promise.all(
    channels.map(
      ({ socket }) => new Promise<void>((resolve) => socket.disconnect(() => resolve())),
    ),
  );
  await server.close();
  latencies.sort((a, b) => a - b);
  return {
    perSecond: (latencies.length / elapsed) * 1000,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

const scratch = await mkdtemp(join(tmpdir(), "devserver-bench-"));
try {
  const memory = await measure(undefined);
  const disk = await measure(join(scratch, "data.json"));
  const big = await measure(join(scratch, "big.json"), filler);
  console.log(
    `${sessions} sessions x ${calls} calls each, one after another per session, on /counter/global\n`,
  );
  const row = (label: string, r: typeof memory) =>
    `${label.padEnd(30)} ${r.perSecond.toFixed(0).padStart(6)} calls/s   p50 ${r.p50.toFixed(1)} ms   p99 ${r.p99.toFixed(1)} ms`;
  console.log(row("memory only", memory));
  console.log(row("--data (reply once on disk)", disk));
  console.log(row(`--data, ${filler} more documents`, big));
  const cost = (r: typeof memory) =>
    `x${(memory.perSecond / r.perSecond).toFixed(2)} time per call, p50 latency x${(r.p50 / memory.p50).toFixed(2)}`;
  console.log(
    `\ncost of durable replies: ${cost(disk)}; with ${filler} more documents: ${cost(big)}`,
  );
} finally {
  await rm(scratch, { recursive: true, force: true });
}
