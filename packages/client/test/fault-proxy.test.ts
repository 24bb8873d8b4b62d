import { createServer, type Server, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type FaultProxy, startFaultProxy } from "./support/fault-proxy.ts";

let echo: Server | undefined;
let proxy: FaultProxy | undefined;
/** Upstream sockets the echo server accepted. */
const upstream: Socket[] = [];

afterEach(async () => {
  await proxy?.close();
  for (const socket of upstream.splice(0)) socket.destroy();
  await new Promise((resolve) => echo?.close(resolve) ?? resolve(undefined));
});

async function start() {
  echo = createServer((socket) => {
    upstream.push(socket);
    socket.on("error", () => {});
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echo?.listen(0, "127.0.0.1", resolve));
  proxy = await startFaultProxy((echo.address() as { port: number }).port);
  return proxy;
}

/** A client of the proxy that collects what it receives and whether it closed. */
async function connect(port: number) {
  const socket = new Socket();
  const seen = { data: "", closed: false, error: undefined as string | undefined };
  socket.on("data", (chunk) => {
    seen.data += chunk.toString();
  });
  socket.on("close", () => {
    seen.closed = true;
  });
  socket.on("error", (error: NodeJS.ErrnoException) => {
    seen.error = error.code;
  });
  // A reset may come before the connect event: either ends the wait.
  await new Promise<void>((resolve) => {
    socket.once("close", () => resolve());
    socket.connect(port, "127.0.0.1", resolve);
  });
  return { socket, seen };
}

const until = async (condition: () => boolean) => {
  for (let i = 0; i < 250 && !condition(); i++) await new Promise((r) => setTimeout(r, 20));
  expect(condition()).toBe(true);
};
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("fault proxy", () => {
  it("forwards both ways, and a cut closes both sides", async () => {
    const proxy = await start();
    const { socket, seen } = await connect(proxy.port);
    socket.write("hello");
    await until(() => seen.data === "hello");
    proxy.cut();
    await until(() => seen.closed);
    await until(() => upstream[0]?.destroyed === true);
    expect(proxy.acceptedBy.forward).toBe(1);
  });

  it("stalls open connections: nothing passes and nobody hears of a close; new ones work", async () => {
    const proxy = await start();
    const first = await connect(proxy.port);
    first.socket.write("a");
    await until(() => first.seen.data === "a");
    proxy.stall();
    first.socket.write("b");
    upstream[0]?.destroy();
    await pause(200);
    expect(first.seen).toMatchObject({ data: "a", closed: false });
    const second = await connect(proxy.port);
    second.socket.write("c");
    await until(() => second.seen.data === "c");
    first.socket.destroy();
    second.socket.destroy();
  });

  it("black-holes new connections: accepted, never answered nor forwarded", async () => {
    const proxy = await start();
    proxy.setMode("blackhole");
    const { socket, seen } = await connect(proxy.port);
    socket.write("anyone?");
    await pause(200);
    expect(seen).toMatchObject({ data: "", closed: false });
    expect(upstream).toHaveLength(0);
    expect(proxy.acceptedBy.blackhole).toBe(1);
    socket.destroy();
  });

  it("answers a request with 502 Bad Gateway, and resets when told", async () => {
    const proxy = await start();
    proxy.setMode("bad-gateway");
    const gateway = await connect(proxy.port);
    gateway.socket.write("GET /socket/websocket HTTP/1.1\r\nHost: x\r\n\r\n");
    await until(() => gateway.seen.closed);
    expect(gateway.seen.data).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/);
    proxy.setMode("reset");
    const reset = await connect(proxy.port);
    await until(() => reset.seen.closed);
    expect(reset.seen.error).toBe("ECONNRESET");
    expect(upstream).toHaveLength(0);
  });

  it("keeps the order of delayed and throttled bytes, and heals", async () => {
    const proxy = await start();
    proxy.setDelay(50);
    proxy.setThrottle(2000);
    const { socket, seen } = await connect(proxy.port);
    const text = "0123456789".repeat(20);
    for (let i = 0; i < text.length; i += 25) socket.write(text.slice(i, i + 25));
    await until(() => seen.data.length === text.length);
    expect(seen.data).toBe(text);
    proxy.heal();
    const healed = await connect(proxy.port);
    healed.socket.write("fast");
    await until(() => healed.seen.data === "fast");
    socket.destroy();
    healed.socket.destroy();
  });
});
