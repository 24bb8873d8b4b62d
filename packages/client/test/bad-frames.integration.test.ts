/**
 * What a server (or something between it and the page) may send that a faithful server never
 * does: frames that are not Phoenix frames, replies with statuses nobody knows, documents nested
 * too deep, unknown events and topics, prototype pollution. None may throw into the app, leave a
 * call or a view waiting forever, or leave a view showing a document as if it were in sync.
 * The server here is hand-made (`support/scripted-server.ts`), over real websockets.
 */

import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import {
  createLenraClient,
  type LenraClient,
  LenraErrorCode,
  type Listener,
} from "../src/index.ts";
import {
  type ScriptedServer,
  type ScriptedSocket,
  startScriptedServer,
} from "./support/scripted-server.ts";
import { sleep, waitFor } from "./support/server.ts";

interface Counter {
  value: number;
  onIncrement: Listener;
}

let server: ScriptedServer | undefined;
let client: LenraClient | undefined;
const warnings: string[] = [];

afterEach(async () => {
  await client?.dispose();
  await server?.close();
  client = undefined;
  server = undefined;
  warnings.length = 0;
});

/** The n-th whole document of `/counter`: `{ value: n, onIncrement }`. */
function counterUi(n: number) {
  return { value: n, onIncrement: { _type: "listener", code: "inc" } };
}

async function start(options: Parameters<typeof startScriptedServer>[0] = {}) {
  let joins = 0;
  server = await startScriptedServer({
    onJoin: (socket, frame) => {
      joins += 1;
      socket.send(frame.joinRef, null, frame.topic, "ui", counterUi(joins));
    },
    ...options,
  });
  client = createLenraClient({
    socketEndpoint: server.socketUrl,
    transport: WebSocket,
    lingerMs: 50,
    logger: { warn: (message) => warnings.push(message) },
  });
  const view = client.view<Counter>("/counter");
  view.subscribe(() => {});
  const socket = await server.nextSocket();
  await waitFor(view, (s) => s.status === "success" && s.data?.value === 1);
  return { view, socket, joins: () => joins };
}

const joinsOf = (socket: ScriptedSocket, topic = "route:/counter") =>
  socket.frames.filter((frame) => frame.event === "phx_join" && frame.topic === topic).length;

describe("frames that are not Phoenix frames", () => {
  it.each([
    ["text that is not JSON", () => "{not json"],
    ["JSON null", () => "null"],
    ["a JSON object", () => '{"topic":"route:/counter","event":"ui"}'],
    ["an array of four", () => '[null,null,"route:/counter","ui"]'],
    ["a number for a topic", () => '[null,null,42,"ui",{}]'],
    [
      "a reply with a null payload",
      (socket: ScriptedSocket) =>
        JSON.stringify([
          socket.joinRef("route:/counter"),
          "1",
          "route:/counter",
          "phx_reply",
          null,
        ]),
    ],
    [
      "a reply without a status",
      (socket: ScriptedSocket) =>
        JSON.stringify([socket.joinRef("route:/counter"), "1", "route:/counter", "phx_reply", {}]),
    ],
  ])("drops %s, says so, and resyncs the views on the same socket", async (_name, frame) => {
    const { view, socket } = await start();
    socket.sendRaw(frame(socket));
    // The dropped frame may have been a patch: the view asks for a whole document again.
    await waitFor(view, (s) => s.status === "success" && !s.isStale && s.data?.value === 2);
    expect(joinsOf(socket)).toBe(2);
    expect(server?.connections).toBe(1);
    expect(client?.connection.getSnapshot().status).toBe("open");
    expect(warnings.some((message) => /frame/i.test(message))).toBe(true);
    // Frames after it are read as ever.
    socket.send(socket.joinRef("route:/counter"), null, "route:/counter", "patchUi", {
      patch: [{ op: "replace", path: "/value", value: 40 }],
    });
    await waitFor(view, (s) => s.data?.value === 40);
  });
});

describe("replies with a status nobody knows", () => {
  it("rejects the call as failed instead of leaving it pending", async () => {
    const { view } = await start({
      onRun: (socket, frame) => socket.reply(frame, "maybe", { reason: "odd", message: "Odd." }),
    });
    const call = view.getSnapshot().data?.onIncrement();
    await expect(call).rejects.toMatchObject({
      code: LenraErrorCode.ListenerFailed,
      reason: "odd",
      message: 'A listener of "/counter" failed: Odd.',
    });
  });

  it("makes a join answered with an unknown status an error, not a view pending forever", async () => {
    server = await startScriptedServer({
      onFrame: (socket, frame, next) => {
        if (frame.event === "phx_join") socket.reply(frame, "pending_forever");
        else next();
      },
    });
    client = createLenraClient({
      socketEndpoint: server.socketUrl,
      transport: WebSocket,
      joinTimeoutMs: 600_000,
    });
    const view = client.view("/counter");
    view.subscribe(() => {});
    const state = await waitFor(view, (s) => s.status !== "pending");
    expect(state).toMatchObject({ status: "error", error: { code: LenraErrorCode.JoinRefused } });
  });

  it("lets a resync that waits for a call go on once that call's odd reply settles it", async () => {
    let pendingRun: ((status: string) => void) | undefined;
    const { view, socket } = await start({
      onRun: (s, frame) => {
        pendingRun = (status) => s.reply(frame, status);
      },
    });
    const call = view.getSnapshot().data?.onIncrement();
    await waitForValue(() => pendingRun);
    // A patch that does not apply: the view must resync, but waits for the call in flight.
    socket.send(socket.joinRef("route:/counter"), null, "route:/counter", "patchUi", {
      patch: [{ op: "replace", path: "/missing", value: 1 }],
    });
    await waitFor(view, (s) => s.isStale);
    await sleep(100);
    expect(joinsOf(socket)).toBe(1);
    pendingRun?.("what");
    await expect(call).rejects.toMatchObject({ code: LenraErrorCode.ListenerFailed });
    await waitFor(view, (s) => !s.isStale && s.data?.value === 2);
    expect(joinsOf(socket)).toBe(2);
  });
});

describe("documents nested deeper than a page can show", () => {
  const deep = (levels: number) => `${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`;

  it("refuses a deep ui with a typed error and a stale view, then resyncs, without throwing", async () => {
    let deepOnce = true;
    const { view, socket } = await start({
      onJoin: (s, frame) => {
        const n = joinsOf(s);
        // The second whole document is too deep; the ones after are fine again.
        if (n === 2 && deepOnce) {
          deepOnce = false;
          s.sendRaw(
            `[${JSON.stringify(frame.joinRef)},null,"route:/counter","ui",${deep(50_000)}]`,
          );
        } else s.send(frame.joinRef, null, frame.topic, "ui", counterUi(n));
      },
    });
    // A patch that does not apply brings the deep document (the resync's ui).
    socket.send(socket.joinRef("route:/counter"), null, "route:/counter", "patchUi", {
      patch: [{ op: "remove", path: "/nothing" }],
    });
    const refused = await waitFor(view, (s) => s.error !== undefined);
    expect(refused).toMatchObject({
      status: "success",
      isStale: true,
      data: { value: 1 },
      error: { code: LenraErrorCode.PatchFailed, failure: "too_deep" },
    });
    await waitFor(view, (s) => !s.isStale && s.data?.value === 3 && s.error === undefined);
    expect(server?.connections).toBe(1);
  });

  it("refuses a patch whose value is too deep like any patch that does not apply", async () => {
    const { view, socket } = await start();
    socket.sendRaw(
      `[${JSON.stringify(socket.joinRef("route:/counter"))},null,"route:/counter","patchUi",{"patch":[{"op":"add","path":"/deep","value":${deep(50_000)}}]}]`,
    );
    await waitFor(view, (s) => !s.isStale && s.data?.value === 2);
    expect(view.getSnapshot().data).not.toHaveProperty("deep");
    expect(joinsOf(socket)).toBe(2);
  });
});

describe("unknown events and topics", () => {
  it("ignores them and keeps applying the route's patches, with no resync", async () => {
    const { view, socket } = await start();
    const joinRef = socket.joinRef("route:/counter");
    socket.send(joinRef, null, "route:/counter", "somethingNew", { value: 99 });
    socket.send(null, null, "route:/elsewhere", "patchUi", {
      patch: [{ op: "replace", path: "/value", value: 98 }],
    });
    socket.send(null, null, "not-a-topic", "ui", counterUi(97));
    socket.send("999", null, "route:/counter", "ui", counterUi(96));
    socket.send(joinRef, null, "route:/counter", "patchUi", {
      patch: [{ op: "replace", path: "/value", value: 5 }],
    });
    const state = await waitFor(view, (s) => s.data?.value !== 1);
    expect(state).toMatchObject({ status: "success", isStale: false, data: { value: 5 } });
    expect(joinsOf(socket)).toBe(1);
  });
});

describe("prototype pollution from the server", () => {
  it("keeps __proto__ keys as data and refuses patches into them; no prototype changes", async () => {
    const { view, socket } = await start({
      onJoin: (s, frame) => {
        s.sendRaw(
          `[${JSON.stringify(frame.joinRef)},null,"route:/counter","ui",{"value":${joinsOf(s)},"__proto__":{"polluted":true},"nested":{"constructor":{"prototype":{"polluted":true}}}}]`,
        );
      },
    });
    const data = view.getSnapshot().data as unknown as Record<string, unknown>;
    expect(Object.hasOwn(data, "__proto__")).toBe(true);
    socket.send(socket.joinRef("route:/counter"), null, "route:/counter", "patchUi", {
      patch: [{ op: "add", path: "/__proto__/polluted", value: true }],
    });
    await waitFor(view, (s) => s.data?.value === 2 && !s.isStale);
    // Into an own member named "constructor": plain data, applied as such.
    socket.send(socket.joinRef("route:/counter"), null, "route:/counter", "patchUi", {
      patch: [
        { op: "add", path: "/nested/constructor/prototype/polluted", value: "data" },
        { op: "replace", path: "/value", value: 7 },
      ],
    });
    const state = await waitFor(view, (s) => s.data?.value === 7);
    expect(state.data).toMatchObject({
      nested: { constructor: { prototype: { polluted: "data" } } },
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("polluted");
  });
});

async function waitForValue<T>(read: () => T | undefined): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const value = read();
    if (value !== undefined) return value;
    await sleep(10);
  }
  throw new Error("Timed out waiting for a value");
}
