import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { startProtocolServer } from "../src/protocol.ts";
import { createTestApp, insecureTestToken } from "../src/testing.ts";
import { counterApp } from "./fixtures.ts";
import {
  connectPhoenix,
  onCleanup,
  openRoute,
  RawClient,
  startHarness,
  waitFor,
} from "./helpers.ts";

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

describe("server lifecycle", () => {
  it("listens on a free 127.0.0.1 port and reports its URLs", async () => {
    const { server } = await startHarness(counterApp());
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.socketUrl).toBe(`ws://127.0.0.1:${server.port}/socket`);
    expect(server.listening).toBe(true);
  });

  it("close() ends every socket and frees the port", async () => {
    const app = createTestApp(counterApp());
    const server = await startProtocolServer({ backend: app });
    const raw = await RawClient.open(server);
    const socket = connectPhoenix(server);
    await openRoute(socket, "/counter");
    expect(await canListen(server.port)).toBe(false);

    await server.close();
    expect(server.listening).toBe(false);
    expect((await raw.closed).code).toBe(1001);
    expect(await canListen(server.port)).toBe(true);
    expect(app.stats()).toMatchObject({ sessions: 0, openRoutes: 0 });
    await server.close(); // idempotent
  });

  it("restarts on the same port; the official client reconnects and rejoins by itself", async () => {
    const { app, server } = await startHarness(counterApp());
    const socket = connectPhoenix(server, { token: insecureTestToken("alice") });
    const route = await openRoute(socket, "/counter");
    const port = server.port;
    const firstSession = server.sessions()[0]?.sessionId;

    await server.close();
    await app.update((state) => {
      state.count = 42;
    });
    await server.listen();
    expect(server.port).toBe(port);

    await waitFor(() => route.count("ui") === 2, 15_000, "the rejoin after restart");
    expect(route.document).toMatchObject({ value: 42 });
    expect(server.count("join", "route:/counter")).toBe(2);
    const sessions = server.sessions();
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ userId: "alice", topics: ["route:/counter"] });
    // A reconnect is a new session, as on Lenra.
    expect(sessions[0]?.sessionId).not.toBe(firstSession);
  });

  it("disconnectAll() closes every socket; clients reconnect and rejoin", async () => {
    const { server } = await startHarness(counterApp());
    const routes = await Promise.all([
      openRoute(connectPhoenix(server), "/counter"),
      openRoute(connectPhoenix(server), "/items/7"),
    ]);
    expect(server.stats()).toEqual({
      sockets: 2,
      channels: { "route:/counter": 1, "route:/items/7": 1 },
    });

    await server.disconnectAll();
    await waitFor(() => routes.every((route) => route.count("ui") === 2), 15_000, "rejoins");
    await server.disconnectAll({ abrupt: true });
    await waitFor(() => routes.every((route) => route.count("ui") === 3), 15_000, "rejoins");
    expect(server.events.filter((e) => e.type === "disconnect").map((e) => e.code)).toEqual([
      1000, 1000, 1006, 1006,
    ]);
    await server.until(() => server.stats().sockets === 2);
  });

  it("until() rejects when the condition never holds", async () => {
    const { server } = await startHarness(counterApp());
    await expect(server.until(() => false, { timeoutMs: 50 })).rejects.toThrow(/not met/);
  });

  it("answers other HTTP requests with the request handler when given", async () => {
    const app = createTestApp(counterApp());
    const server = await startProtocolServer({
      backend: app,
      requestHandler: (_request, response) => {
        response.writeHead(200, { "Content-Type": "text/plain" });
        response.end("hello");
      },
    });
    onCleanup(() => server.close());
    const response = await fetch(`${server.url}/anything`);
    expect(await response.text()).toBe("hello");
  });
});
