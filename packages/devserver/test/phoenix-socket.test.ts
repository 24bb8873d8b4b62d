import { request } from "node:http";
import { Socket } from "phoenix";
import { describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { CloseCode } from "../src/protocol/connection.ts";
import type { ConnectRequest } from "../src/protocol.ts";
import { insecureTestToken } from "../src/testing.ts";
import { counterApp } from "./fixtures.ts";
import {
  connectPhoenix,
  joinChannel,
  openRoute,
  pushAsync,
  RawClient,
  sleep,
  startHarness,
  TEST_APP_NAME,
  waitFor,
} from "./helpers.ts";

const JSON_MODE = { mode: "json" };

function httpStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    req.on("upgrade", (response, socket) => {
      socket.destroy();
      resolve(response.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}

function upgradeStatus(url: string, protocols?: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    ws.on("unexpected-response", (_request, response) => {
      resolve(response.statusCode ?? 0);
      ws.terminate();
    });
    ws.on("open", () => {
      ws.terminate();
      resolve(101);
    });
    ws.on("error", (error) => {
      if (!String(error.message).includes("Unexpected server response")) reject(error);
    });
  });
}

describe("Phoenix socket (serializer v2)", () => {
  it("answers heartbeats with an empty ok reply", async () => {
    const { server } = await startHarness(counterApp());
    const raw = await RawClient.open(server);
    raw.send([null, "7", "phoenix", "heartbeat", {}]);
    expect(await raw.next((f) => f[1] === "7")).toEqual([
      null,
      "7",
      "phoenix",
      "phx_reply",
      { status: "ok", response: {} },
    ]);

    const socket = connectPhoenix(server);
    const rtt = await new Promise<number>((resolve) => {
      const poll = setInterval(() => {
        if (socket.isConnected()) {
          clearInterval(poll);
          socket.ping(resolve);
        }
      }, 5);
    });
    expect(rtt).toBeGreaterThanOrEqual(0);
    expect(server.count("heartbeat")).toBe(2);
  });

  it("replies to a join before pushing, with the join_ref on every frame", async () => {
    const { server } = await startHarness(counterApp());
    const raw = await RawClient.open(server);
    raw.send(["1", "1", "route:/counter", "phx_join", JSON_MODE]);
    const ui = await raw.next((f) => f[3] === "ui");
    expect(raw.frames[0]).toEqual([
      "1",
      "1",
      "route:/counter",
      "phx_reply",
      { status: "ok", response: {} },
    ]);
    expect(raw.frames[1]).toBe(ui);
    expect(ui.slice(0, 4)).toEqual(["1", null, "route:/counter", "ui"]);
  });

  it("answers `unmatched topic` to a message on a topic that is not joined", async () => {
    const { server } = await startHarness(counterApp());
    const raw = await RawClient.open(server);
    expect(await raw.request("3", "route:/counter", "run", { code: "x" })).toEqual([
      null,
      "r1",
      "route:/counter",
      "phx_reply",
      { status: "error", response: { reason: "unmatched topic" } },
    ]);
    expect(await raw.request(null, "phoenix", "other")).toEqual([
      null,
      "r2",
      "phoenix",
      "phx_reply",
      { status: "error", response: { reason: "unmatched topic" } },
    ]);
    expect(server.count("unmatched")).toBe(2);
  });

  it("refuses a join on a topic no channel serves with `unmatched topic`", async () => {
    const { server } = await startHarness(counterApp());
    const raw = await RawClient.open(server);
    expect(await raw.request("1", "chat:lobby", "phx_join", {})).toEqual([
      null,
      "r1",
      "chat:lobby",
      "phx_reply",
      { status: "error", response: { reason: "unmatched topic" } },
    ]);

    const socket = connectPhoenix(server);
    const reply = await joinChannel(socket.channel("chat:lobby", {}));
    expect(reply).toEqual({ status: "error", response: { reason: "unmatched topic" } });
  });

  it("closes the existing channel on a duplicate join: new reply, then phx_close with the old join_ref", async () => {
    const { app, server } = await startHarness(counterApp());
    const raw = await RawClient.open(server);
    raw.send(["1", "1", "route:/counter", "phx_join", JSON_MODE]);
    await raw.next((f) => f[3] === "ui" && f[0] === "1");
    raw.frames.length = 0;

    raw.send(["2", "2", "route:/counter", "phx_join", JSON_MODE]);
    await raw.next((f) => f[3] === "ui" && f[0] === "2");
    expect(raw.frames.map((f) => [f[0], f[1], f[3]])).toEqual([
      ["2", "2", "phx_reply"],
      ["1", "1", "phx_close"],
      ["2", null, "ui"],
    ]);
    expect(raw.frames[1]).toEqual(["1", "1", "route:/counter", "phx_close", {}]);
    expect(server.stats().channels).toEqual({ "route:/counter": 1 });
    expect(app.stats().routes).toEqual({ "/counter": 1 });

    // Only the new channel gets later patches.
    raw.frames.length = 0;
    await app.update((state) => {
      state.count = 9;
    });
    const patch = await raw.next((f) => f[3] === "patchUi");
    expect(patch[0]).toBe("2");
    await sleep(20);
    expect(raw.frames.filter((f) => f[3] === "patchUi")).toHaveLength(1);
  });

  it("acknowledges a leave, then sends phx_close; a leave of a topic not joined is acknowledged too", async () => {
    const { app, server } = await startHarness(counterApp());
    const raw = await RawClient.open(server);
    raw.send(["1", "1", "route:/counter", "phx_join", JSON_MODE]);
    await raw.next((f) => f[3] === "ui");
    raw.frames.length = 0;
    // A leave for an older join raced a server close: Phoenix ignores it.
    raw.send(["0", "stale", "route:/counter", "phx_leave", {}]);
    raw.send(["1", "2", "route:/counter", "phx_leave", {}]);
    await raw.next((f) => f[3] === "phx_close");
    expect(raw.frames).toEqual([
      ["1", "2", "route:/counter", "phx_reply", { status: "ok", response: {} }],
      ["1", "1", "route:/counter", "phx_close", {}],
    ]);
    expect(app.stats().openRoutes).toBe(0);
    expect(await raw.request(null, "route:/nothing", "phx_leave")).toEqual([
      null,
      "r1",
      "route:/nothing",
      "phx_reply",
      { status: "ok", response: {} },
    ]);

    const socket = connectPhoenix(server);
    const route = await openRoute(socket, "/counter");
    let closed = false;
    route.channel.onClose(() => {
      closed = true;
    });
    const left = await new Promise((resolve) => route.channel.leave().receive("ok", resolve));
    expect(left).toEqual({});
    expect(closed).toBe(true);
    await server.until(() => server.count("leave", "route:/counter") === 2);
    expect(server.stats().channels).toEqual({});
  });

  it("crashes only the channel whose handler fails: phx_error, then the topic is unmatched", async () => {
    const { app, server } = await startHarness(counterApp());
    const raw = await RawClient.open(server);
    raw.send(["1", "1", "route:/counter", "phx_join", JSON_MODE]);
    raw.send(["2", "2", "route:/items/1", "phx_join", JSON_MODE]);
    await raw.next((f) => f[3] === "ui" && f[2] === "route:/items/1");
    raw.send(["1", "3", "route:/counter", "bogus", {}]);
    expect(await raw.next((f) => f[3] === "phx_error")).toEqual([
      "1",
      "1",
      "route:/counter",
      "phx_error",
      {},
    ]);
    expect(raw.frames.some((f) => f[1] === "3")).toBe(false);
    expect(app.stats().routes).toEqual({ "/items/1": 1 });
    expect((await raw.request("1", "route:/counter", "run", { code: "x" }))[4]).toEqual({
      status: "error",
      response: { reason: "unmatched topic" },
    });
    expect((await raw.request(null, "phoenix", "heartbeat"))[4]).toEqual({
      status: "ok",
      response: {},
    });
    expect(server.stats().channels).toEqual({ "route:/items/1": 1 });

    // The official client errors the channel and rejoins it by itself.
    const socket = connectPhoenix(server);
    const route = await openRoute(socket, "/counter");
    expect(server.crashChannels("route:/counter")).toBe(1);
    await waitFor(() => route.phxErrors === 1 && route.count("ui") === 2, 15_000, "the rejoin");
    expect(server.count("join", "route:/counter")).toBe(3);
  });

  it("answers the listener calls in flight before close() closes the sockets", async () => {
    const { app, server } = await startHarness(counterApp());
    const socket = connectPhoenix(server);
    const route = await openRoute(socket, "/counter");
    const closes: number[] = [];
    socket.onClose((event) => {
      closes.push(event.code);
    });
    // The slow listener takes 50 ms: the close starts while it runs.
    const reply = route.run(route.code("onSlow"));
    await waitFor(() => app.calls.length === 1, 5_000, "the call to start");
    const closed = server.close();
    expect(await reply).toEqual({ status: "ok", response: {} });
    await closed;
    expect(closes[0]).toBe(CloseCode.GoingAway);
    expect(app.state.count).toBe(100);
  });

  it("crashes a route channel on a run without a code, as Lenra's channel does", async () => {
    const { server } = await startHarness(counterApp());
    const socket = connectPhoenix(server);
    const route = await openRoute(socket, "/counter");
    const reply = await pushAsync(route.channel, "run", { nope: 1 }, 300);
    expect(reply.status).toBe("timeout");
    expect(route.phxErrors).toBeGreaterThanOrEqual(1);
  });

  describe("malformed input ends only the offending socket", () => {
    it("closes with 1011 on a frame that is not a JSON array of five", async () => {
      const { app, server } = await startHarness(counterApp());
      const bystander = connectPhoenix(server);
      const route = await openRoute(bystander, "/counter");
      for (const bad of ["not json", "{}", '["1","1","phoenix"]', "42"]) {
        const raw = await RawClient.open(server);
        raw.send(bad);
        expect((await raw.closed).code).toBe(CloseCode.InternalError);
      }
      expect((await route.run(route.code("onIncrement"))).status).toBe("ok");
      expect(route.document).toMatchObject({ value: 1 });
      expect(app.stats().sessions).toBe(1);
      expect(server.count("malformed")).toBe(4);
    });

    it("answers an error to a mistyped frame whose ref is readable, ignores it otherwise", async () => {
      const { server } = await startHarness(counterApp());
      const raw = await RawClient.open(server);
      raw.send(["1", "5", 42, "phx_join", {}]);
      expect(await raw.next((f) => f[1] === "5")).toEqual([
        "1",
        "5",
        null,
        "phx_reply",
        { status: "error", response: { reason: "malformed message" } },
      ]);
      raw.send([null, "6", "route:/counter", { event: true }, {}]);
      expect((await raw.next((f) => f[1] === "6"))[4]).toEqual({
        status: "error",
        response: { reason: "malformed message" },
      });
      raw.send([null, 7, "phoenix", "heartbeat", {}]);
      // Extra trailing elements are ignored, as Phoenix's decoder does.
      raw.send([null, "8", "phoenix", "heartbeat", {}, "extra"]);
      await raw.next((f) => f[1] === "8");
      expect(raw.frames.some((f) => (f[1] as unknown) === 7)).toBe(false);
      expect(raw.ws.readyState).toBe(WebSocket.OPEN);
    });

    it("closes with 1003 on a binary frame", async () => {
      const { server } = await startHarness(counterApp());
      const raw = await RawClient.open(server);
      raw.ws.send(Buffer.from([0, 1, 2]));
      expect((await raw.closed).code).toBe(CloseCode.UnsupportedData);
    });

    it("closes with 1009 on a frame over maxFrameBytes", async () => {
      const { server } = await startHarness(counterApp(), { maxFrameBytes: 1024 });
      const bystander = connectPhoenix(server);
      const route = await openRoute(bystander, "/counter");
      const raw = await RawClient.open(server);
      raw.send([null, "1", "phoenix", "heartbeat", { pad: "x".repeat(2048) }]);
      expect((await raw.closed).code).toBe(1009);
      expect((await route.run(route.code("onIncrement"))).status).toBe("ok");
      expect(route.document).toMatchObject({ value: 1 });
    });
  });

  describe("upgrade", () => {
    it("answers 403 to a refused connection, before the upgrade", async () => {
      const { app, server } = await startHarness(counterApp());
      const base = `${server.socketUrl}/websocket?vsn=2.0.0`;
      expect(await upgradeStatus(`${base}&token=bad`)).toBe(403);
      expect(await upgradeStatus(`${base}&token=${insecureTestToken("bob")}`)).toBe(101);
      app.revokeToken(insecureTestToken("bob"));
      expect(await upgradeStatus(`${base}&token=${insecureTestToken("bob")}`)).toBe(403);
      expect(server.events.filter((e) => e.type === "refuse")).toMatchObject([
        { status: 403, reason: "invalid_token" },
        { status: 403, reason: "invalid_token" },
      ]);

      // The official client sees an error and keeps retrying, never opening.
      const socket = connectPhoenix(server, { token: "bad" });
      let errors = 0;
      socket.onError(() => {
        errors++;
      });
      await waitFor(() => errors >= 2, 15_000, "retries");
      expect(socket.isConnected()).toBe(false);
    });

    it("accepts only serializer 2.0.0, reading a missing vsn as 1.0.0", async () => {
      const { server } = await startHarness(counterApp());
      // The app is named, as a guest must: only the serializer decides.
      const endpoint = `${server.socketUrl}/websocket?app=${TEST_APP_NAME}`;
      expect(await upgradeStatus(`${endpoint}&vsn=1.0.0`)).toBe(403);
      expect(await upgradeStatus(endpoint)).toBe(403);
      expect(await upgradeStatus(`${endpoint}&vsn=2.0.0`)).toBe(101);
    });

    it("answers 400 to a plain request on the socket path and 404 elsewhere", async () => {
      const { server } = await startHarness(counterApp());
      expect(await httpStatus(`${server.url}/socket/websocket?vsn=2.0.0`)).toBe(400);
      expect(await httpStatus(`${server.url}/other`)).toBe(404);
      expect(
        await upgradeStatus(`${server.url.replace("http", "ws")}/other/websocket?vsn=2.0.0`),
      ).toBe(404);
      expect(
        await httpStatus(`${server.url}/socket/websocket?vsn=%E0%A4%A`, {
          Connection: "Upgrade",
          Upgrade: "websocket",
          "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
          "Sec-WebSocket-Version": "13",
        }),
      ).toBe(400);
    });

    it("gives authenticate the nested params and the Phoenix authToken, before upgrading", async () => {
      const seen: ConnectRequest[] = [];
      const { server } = await startHarness({
        ...counterApp(),
        authenticate: async (connect) => {
          seen.push(connect);
          await sleep(20);
          return { userId: connect.authToken ?? "nobody", roles: ["user"] };
        },
      });
      const socket = new Socket(server.socketUrl, {
        transport: WebSocket as unknown as new (endpoint: string) => object,
        params: { app: "demo", context: { a: "1", b: { c: "2" } } },
        authToken: "sécret token",
      } as object);
      socket.connect();
      try {
        const route = await openRoute(socket, "/context");
        expect(route.document).toEqual({
          context: { a: "1", b: { c: "2" } },
          me: "sécret token",
          roles: ["user"],
        });
        expect(seen[0]?.params).toEqual({
          app: "demo",
          context: { a: "1", b: { c: "2" } },
          vsn: "2.0.0",
        });
        expect(server.sessions()).toMatchObject([
          {
            userId: "sécret token",
            context: { a: "1", b: { c: "2" } },
            topics: ["route:/context"],
          },
        ]);
      } finally {
        socket.disconnect();
      }
    });
  });

  it("closes a socket that stays silent for idleTimeoutMs with 1000, not one that heartbeats", async () => {
    const { server } = await startHarness(counterApp(), { idleTimeoutMs: 150 });
    // Taken before the silent socket opens, so its idle timer cannot have started earlier.
    const started = Date.now();
    const silent = await RawClient.open(server);
    const talker = await RawClient.open(server);
    const beat = setInterval(
      () => talker.send([null, talker.nextRef(), "phoenix", "heartbeat", {}]),
      40,
    );
    try {
      expect((await silent.closed).code).toBe(CloseCode.Normal);
      expect(Date.now() - started).toBeGreaterThanOrEqual(100);
      await sleep(300);
      expect(talker.ws.readyState).toBe(WebSocket.OPEN);
    } finally {
      clearInterval(beat);
    }
  });
});
