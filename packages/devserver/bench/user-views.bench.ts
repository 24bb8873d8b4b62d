/**
 * How many views a data change re-renders, on a full dev server with the real counter app.
 *
 * USERS signed-in sessions each show their own counter (/counter/me) and the shared one
 * (/counter/global). RUNS calls then increment, in turn, each user's own counter, then RUNS the
 * shared one. Prints the app view renders per call: a change to one user's counter can only
 * change that user's view, and a change to the shared counter the one view every session
 * shares, so both should cost one render per call, whatever USERS is.
 *
 *   pnpm bench:user-views      USERS=200 RUNS=300 by default
 */
import { fileURLToPath } from "node:url";
import { type Channel, Socket } from "phoenix";
import { WebSocket } from "ws";
import { startDevServer } from "../src/index.ts";
import { insecureTestToken } from "../src/testing.ts";

const users = Number(process.env.USERS ?? 200);
const runs = Number(process.env.RUNS ?? 300);

const counterApp = fileURLToPath(new URL("../../../examples/counter-app", import.meta.url));
const server = await startDevServer({
  app: counterApp,
  port: 0,
  authPort: 0,
  insecureTestTokens: true,
});

interface Route {
  channel: Channel;
  code(): string;
}

function openRoute(socket: Socket, path: string): Promise<Route> {
  const channel = socket.channel(`route:${path}`, { mode: "json" });
  let code = "";
  channel.on("ui", (payload: { onIncrement: { code: string } }) => {
    code = payload.onIncrement.code;
  });
  return new Promise((resolve, reject) => {
    channel.on("ui", () => resolve({ channel, code: () => code }));
    channel.join().receive("error", reject).receive("timeout", reject);
  });
}

const sessions: { socket: Socket; me: Route; global: Route }[] = [];
for (let i = 0; i < users; i++) {
  const socket = new Socket(server.socketUrl, {
    transport: WebSocket as unknown as new (endpoint: string) => object,
    params: { app: "counter-app", token: insecureTestToken(`user-${i}`) },
    timeout: 30_000,
  });
  socket.connect();
  const [me, global] = await Promise.all([
    openRoute(socket, "/counter/me"),
    openRoute(socket, "/counter/global"),
  ]);
  sessions.push({ socket, me, global });
}

function run(route: Route): Promise<void> {
  return new Promise((resolve, reject) => {
    route.channel
      .push("run", { code: route.code() }, 30_000)
      .receive("ok", () => resolve())
      .receive("error", (error) => reject(new Error(JSON.stringify(error))))
      .receive("timeout", () => reject(new Error("run timed out")));
  });
}

async function measure(pick: (i: number) => Route): Promise<number> {
  const before = server.stats().viewRenders;
  for (let i = 0; i < runs; i++) await run(pick(i));
  return server.stats().viewRenders - before;
}

const mine = await measure((i) => (sessions[i % users] as (typeof sessions)[number]).me);
const shared = await measure((i) => (sessions[i % users] as (typeof sessions)[number]).global);
console.log(`${users} users, each showing /counter/me and /counter/global; ${runs} calls each\n`);
console.log(
  `own counter:    ${mine} view renders for ${runs} calls (${(mine / runs).toFixed(2)} per call)`,
);
console.log(
  `shared counter: ${shared} view renders for ${runs} calls (${(shared / runs).toFixed(2)} per call)`,
);
await Promise.all(
  sessions.map(({ socket }) => new Promise<void>((resolve) => socket.disconnect(() => resolve()))),
);
await server.close();
