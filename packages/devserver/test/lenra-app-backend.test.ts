import { describe, expect, it, vi } from "vitest";
import type { ProtocolServer } from "../src/protocol.ts";
import { insecureTestToken } from "../src/testing.ts";
import { upgradeStatus } from "./dev-server-support.ts";
import {
  type FakeApp,
  GUEST,
  type Listener,
  noop,
  SYSTEM_LISTENERS,
  start,
  type View,
} from "./fake-app.ts";
import {
  connectPhoenix,
  joinChannel,
  type LiveRoute,
  openRoute,
  sleep,
  waitFor,
} from "./helpers.ts";

const echo: View = (data, props, context) => ({ data, props, context });

describe("view context", () => {
  it("gives a view no context without a projection, and the projected keys with one", async () => {
    const { server } = await start({
      routes: [
        { path: "/plain/:id", view: { _type: "view", name: "echo" }, roles: ["guest", "user"] },
        {
          path: "/projected/:id",
          view: {
            _type: "view",
            name: "echo",
            props: { a: 1 },
            context: {
              me: true,
              roles: true,
              pathParams: true,
              theme: true,
              missing: true,
              skipped: false,
            },
          },
          roles: ["guest", "user"],
        },
      ],
      views: { echo },
    });
    const socket = connectPhoenix(server, {
      token: insecureTestToken("alice"),
      context: { theme: "dark", me: "mallory" },
    });
    expect((await openRoute(socket, "/plain/7")).document).toEqual({
      data: [],
      props: {},
      context: {},
    });
    expect((await openRoute(socket, "/projected/7")).document).toEqual({
      data: [],
      props: { a: 1 },
      // The platform's keys win over what the client sent; absent keys are null, as on Lenra.
      context: {
        me: "alice",
        roles: ["user"],
        // Typed as Lenra types route parameters.
        pathParams: { id: 7 },
        theme: "dark",
        missing: null,
      },
    });
    const anonymous = connectPhoenix(server, GUEST);
    expect((await openRoute(anonymous, "/projected/8")).document).toMatchObject({
      context: { me: null, roles: ["guest"], pathParams: { id: 8 }, theme: null },
    });
  });

  it("shares a render only between sessions whose projected context is the same", async () => {
    const { server, renders } = await start({
      routes: [
        {
          path: "/themed",
          view: { _type: "view", name: "echo", context: { theme: true } },
          roles: ["guest"],
        },
      ],
      views: { echo },
    });
    const dark = await Promise.all(
      [1, 2, 3].map(() =>
        openRoute(connectPhoenix(server, { ...GUEST, context: { theme: "dark" } }), "/themed"),
      ),
    );
    const light = await openRoute(
      connectPhoenix(server, { ...GUEST, context: { theme: "light", other: "x" } }),
      "/themed",
    );
    expect(dark.map((route) => route.document)).toEqual(
      Array(3).fill({ data: [], props: {}, context: { theme: "dark" } }),
    );
    expect(light.document).toEqual({ data: [], props: {}, context: { theme: "light" } });
    expect(renders).toEqual(["echo", "echo"]);
  });
});

describe("render groups", () => {
  it("forgets groups and cached views once no session shows them", async () => {
    const { server, backend, store } = await start({
      routes: [
        {
          path: "/list",
          view: { _type: "view", name: "list", find: { coll: "items", query: {} } },
          roles: ["guest"],
        },
      ],
      views: {
        list: (data) => ({ items: data.map(() => ({ _type: "view", name: "item" })) }),
        item: () => ({ ok: true }),
      },
    });
    store.insertMany("items", [{ n: 1 }, { n: 2 }]);
    const sockets = [1, 2, 3].map(() => connectPhoenix(server, GUEST));
    const routes = await Promise.all(sockets.map((socket) => openRoute(socket, "/list")));
    expect(routes[0]?.document).toEqual({ items: [{ ok: true }, { ok: true }] });
    expect(backend.stats()).toMatchObject({ sessions: 3, openRoutes: 3, renderGroups: 1 });
    // The list, and one item view that both items show.
    expect(backend.stats()).toMatchObject({ cachedViews: 2, viewRenders: 2 });
    await Promise.all(
      sockets.map((socket) => new Promise<void>((resolve) => socket.disconnect(() => resolve()))),
    );
    await waitFor(() => backend.stats().sessions === 0);
    expect(backend.stats()).toMatchObject({ openRoutes: 0, renderGroups: 0, cachedViews: 0 });
  });
});

describe("views", () => {
  it("finds with @me and @route substituted, projection and options applied", async () => {
    const { server, store } = await start({
      routes: [
        {
          path: "/notes/:tag",
          view: {
            _type: "view",
            name: "list",
            find: {
              coll: "notes",
              query: { owner: "@me", tag: "@route.tag" },
              projection: { text: 1 },
              options: { sort: { rank: -1 }, limit: 2 },
            },
          },
          roles: ["user"],
        },
      ],
      views: { list: (data) => ({ notes: data }) },
    });
    store.insertMany("notes", [
      { _id: "n1", owner: "alice", tag: "x", rank: 1, text: "one" },
      { _id: "n2", owner: "alice", tag: "x", rank: 3, text: "three" },
      { _id: "n3", owner: "alice", tag: "x", rank: 2, text: "two" },
      { _id: "n4", owner: "bob", tag: "x", rank: 9, text: "bob's" },
      { _id: "n5", owner: "alice", tag: "y", rank: 9, text: "other tag" },
    ]);
    const route = await openRoute(
      connectPhoenix(server, { token: insecureTestToken("alice") }),
      "/notes/x",
    );
    expect(route.document).toEqual({
      notes: [
        { _id: "n2", text: "three" },
        { _id: "n3", text: "two" },
      ],
    });
    // A document its find can see renders it again; a change elsewhere does not.
    store.createDoc("elsewhere", { any: 1 });
    store.createDoc("notes", { _id: "n6", owner: "alice", tag: "x", rank: 5, text: "five" });
    await waitFor(() => (route.document as { notes: { _id: string }[] }).notes[0]?._id === "n6");
    expect(route.count("patchUi")).toBe(1);
    // The find ran again, whole: its sort and limit still apply.
    expect(route.document).toEqual({
      notes: [
        { _id: "n6", text: "five" },
        { _id: "n2", text: "three" },
      ],
    });
  });

  it("renders nested views at any depth, and refuses a view that contains itself or nests too deep", async () => {
    const { server } = await start({
      routes: [
        {
          path: "/tree",
          view: { _type: "view", name: "node", props: { level: 0 } },
          roles: ["guest"],
        },
        { path: "/loop", view: { _type: "view", name: "loop" }, roles: ["guest"] },
        {
          path: "/deep",
          view: { _type: "view", name: "deep", props: { level: 0 } },
          roles: ["guest"],
        },
      ],
      views: {
        node: (_data, props) => {
          const level = props.level as number;
          return level === 2
            ? { level, leaf: { _type: "listener", name: "tap", props: { level } } }
            : {
                level,
                children: [1, 2].map(() => ({
                  _type: "view",
                  name: "node",
                  props: { level: level + 1 },
                })),
              };
        },
        loop: () => ({ again: { _type: "view", name: "loop" } }),
        deep: (_data, props) => ({
          next: { _type: "view", name: "deep", props: { level: (props.level as number) + 1 } },
        }),
      },
    });
    const socket = connectPhoenix(server, GUEST);
    const tree = (await openRoute(socket, "/tree")).document as {
      children: { children: { leaf: { code: string } }[] }[];
    };
    expect(tree).toEqual({
      level: 0,
      children: Array(2).fill({
        level: 1,
        children: Array(2).fill({
          level: 2,
          leaf: { _type: "listener", code: expect.any(String) },
        }),
      }),
    });

    for (const [path, message] of [
      ["/loop", 'The view "loop" contains itself'],
      ["/deep", "Views are nested more than 5 levels deep"],
    ] as const) {
      // A view that fails on its first render refuses the join, in Lenra's error 500 shape.
      const reply = await joinChannel(socket.channel(`route:${path}`, { mode: "json" }));
      expect(reply).toMatchObject({
        status: "error",
        response: { message: "Internal server error.", reason: "error_500", status_code: 500 },
      });
      expect((reply.response as { metadata: string }).metadata).toContain(message);
    }
  });

  it("turns garbage from the app into view errors that refuse the join", async () => {
    const { server } = await start({
      routes: [
        { path: "/string", view: { _type: "view", name: "string" }, roles: ["guest"] },
        { path: "/array", view: { _type: "view", name: "array" }, roles: ["guest"] },
        { path: "/nameless", view: { _type: "view", name: "nameless" }, roles: ["guest"] },
        { path: "/throws", view: { _type: "view", name: "throws" }, roles: ["guest"] },
        { path: "/unknown", view: { _type: "view", name: "unknown" }, roles: ["guest"] },
        { path: "/parent", view: { _type: "view", name: "parent" }, roles: ["guest"] },
      ],
      views: {
        parent: () => ({
          ok: { _type: "view", name: "string" },
          broken: { _type: "view", name: "throws" },
        }),
        string: () => "hello",
        array: () => [1, 2],
        nameless: () => ({ onTap: { _type: "listener", label: "Tap" } }),
        throws: () => {
          throw new Error("the view broke");
        },
      },
    });
    const socket = connectPhoenix(server, GUEST);
    const expectations: [string, string][] = [
      ["/string", 'The view "string" of route /string must return a JSON object, not a string.'],
      ["/array", "must return a JSON object, not an array"],
      ["/throws", "the view broke"],
      ["/unknown", "No view found for unknown"],
      // Lenra would leave the failed nested view's object in place; the dev server fails the
      // route with its error instead.
      ["/parent", "the view broke"],
    ];
    for (const [path, metadata] of expectations) {
      const reply = await joinChannel(socket.channel(`route:${path}`, { mode: "json" }));
      expect(reply, path).toMatchObject({ status: "error", response: { reason: "error_500" } });
      expect((reply.response as { metadata: string }).metadata).toContain(metadata);
    }
    // Lenra leaves a listener without a name as it is: it cannot be called.
    expect((await openRoute(socket, "/nameless")).document).toEqual({
      onTap: { _type: "listener", label: "Tap" },
    });
    // The socket still works.
    expect((await joinChannel(socket.channel("routes", { mode: "json" }))).status).toBe("ok");
  });
});

describe("listeners", () => {
  function counterApp(): FakeApp {
    return {
      routes: [
        {
          path: "/count",
          view: { _type: "view", name: "count", find: { coll: "count", query: {} } },
          roles: ["guest", "user"],
        },
      ],
      views: {
        count: (data) => ({
          value: (data[0] as { n?: number } | undefined)?.n ?? 0,
          add: { _type: "listener", name: "add", props: { by: 2 }, label: "Add" },
          fail: { _type: "listener", name: "fail" },
          gone: { _type: "listener", name: "gone" },
        }),
      },
      listeners: {
        ...SYSTEM_LISTENERS,
        add: (props, event, { store }) => {
          const [doc] = store.find("count", { query: {} });
          const by = (props.by as number) + ((event as { extra?: number } | undefined)?.extra ?? 0);
          if (doc) store.updateMany("count", { _id: doc._id }, { $inc: { n: by } });
          else store.createDoc("count", { n: by });
        },
        fail: (_props, _event, { store }) => {
          // A listener may change data and then fail: the client still gets the new view first.
          store.createDoc("count", { n: 100 });
          throw new Error("it failed after writing");
        },
      },
    };
  }

  it("runs one listener at a time per session, and never sends @lenra: listeners to the app", async () => {
    const running: string[] = [];
    let overlapped = false;
    const slow =
      (name: string): Listener =>
      async () => {
        if (running.length > 0) overlapped = true;
        running.push(name);
        await sleep(30);
        running.pop();
      };
    const app = counterApp();
    app.views.count = () => ({
      first: { _type: "listener", name: "first" },
      second: { _type: "listener", name: "second" },
      navTo: { _type: "listener", name: "@lenra:navTo", props: { path: "/x" } },
    });
    app.listeners = { ...app.listeners, first: slow("first"), second: slow("second") };
    const { server, calls } = await start(app);
    const route = await openRoute(connectPhoenix(server, GUEST), "/count");
    const replies = await Promise.all([
      route.run(route.code("first")),
      route.run(route.code("second")),
    ]);
    expect(replies.map((reply) => reply.status)).toEqual(["ok", "ok"]);
    expect(overlapped).toBe(false);
    expect(calls.slice(-2).map((call) => call.listener)).toEqual(["first", "second"]);

    // Lenra runs "@lenra:" listeners itself: the app never hears of them.
    expect(await route.run(route.code("navTo"))).toEqual({ status: "ok", response: {} });
    expect(calls.some((call) => call.listener.startsWith("@lenra:"))).toBe(false);
  });

  it("gives each listener call its own data API token, revoked once the listener answered", async () => {
    const seen: string[] = [];
    const app = counterApp();
    app.listeners = {
      ...app.listeners,
      add: (_props, _event, api) => {
        seen.push(api.token);
      },
    };
    const { server, backend } = await start(app);
    const route = await openRoute(
      connectPhoenix(server, { token: insecureTestToken("erin") }),
      "/count",
    );
    await route.run(route.code("add"));
    await route.run(route.code("add"));
    expect(new Set(seen).size).toBe(2);
    for (const token of seen) expect(backend.resolveDataApiToken(token)).toBeUndefined();
  });

  it("passes props, event and a data API token of the session's user", async () => {
    const { server, calls } = await start(counterApp());
    const route = await openRoute(
      connectPhoenix(server, { token: insecureTestToken("alice") }),
      "/count",
    );
    expect(route.document).toEqual({
      value: 0,
      add: { _type: "listener", label: "Add", code: expect.any(String) },
      fail: { _type: "listener", code: expect.any(String) },
      gone: { _type: "listener", code: expect.any(String) },
    });
    expect(await route.run(route.code("add"), { extra: 1 })).toEqual({
      status: "ok",
      response: {},
    });
    expect((route.document as { value: number }).value).toBe(3);
    expect(calls.filter((call) => call.listener === "add")).toEqual([
      { listener: "add", userId: "alice", props: { by: 2 }, event: { extra: 1 } },
    ]);
    const guest = await openRoute(connectPhoenix(server, GUEST), "/count");
    await guest.run(guest.code("add"));
    expect(calls.at(-1)).toEqual({
      listener: "add",
      userId: undefined,
      props: { by: 2 },
      event: {},
    });
    await waitFor(() => (route.document as { value: number }).value === 5);
  });

  it("reports a failing listener after pushing what it changed, and a listener the app lacks", async () => {
    const { server } = await start(counterApp());
    const route = await openRoute(connectPhoenix(server, GUEST), "/count");
    const failed = await route.run(route.code("fail"));
    // Lenra's error 500: its message, the app's text as metadata.
    expect(failed).toEqual({
      status: "error",
      response: {
        error: {
          message: "Internal server error.",
          reason: "error_500",
          metadata: "it failed after writing",
          status_code: 500,
        },
      },
    });
    expect((route.document as { value: number }).value).toBe(100);
    // @lenra/app answers 500 for a listener it lacks: the same error, with its text.
    const gone = await route.run(route.code("gone"));
    expect(gone.response).toEqual({
      error: {
        message: "Internal server error.",
        reason: "error_500",
        metadata: "No listener found for gone",
        status_code: 500,
      },
    });
    // The error events are translated: no status_code.
    expect(route.errors).toEqual([
      {
        message: "Internal server error.",
        reason: "error_500",
        metadata: "it failed after writing",
      },
      {
        message: "Internal server error.",
        reason: "error_500",
        metadata: "No listener found for gone",
      },
    ]);
  });

  it("answers errors while the app is down and recovers when it is back", async () => {
    const app = counterApp();
    const { server, store } = await start(app);
    const route = await openRoute(connectPhoenix(server, GUEST), "/count");
    const watcher = await openRoute(connectPhoenix(server, GUEST), "/count");
    app.down = true;
    const reply = await route.run(route.code("add"));
    // Lenra names its function runner when the app cannot be reached.
    expect(reply).toMatchObject({
      status: "error",
      response: {
        error: { message: "Openfaas could not be reached.", reason: "openfaas_not_reachable" },
      },
    });
    expect((reply.response as { error: { metadata: string } }).error.metadata).toContain(
      "cannot be reached",
    );
    store.createDoc("count", { n: 7 });
    await waitFor(() => watcher.errors.length > 0);
    expect(watcher.errors[0]).toMatchObject({
      message: "Openfaas could not be reached.",
      reason: "openfaas_not_reachable",
    });

    app.down = false;
    store.createDoc("other", { poke: true });
    // A route whose last render failed re-renders on any change.
    await waitFor(() => (watcher.document as { value: number }).value === 7);
    expect(await route.run(route.code("add"))).toMatchObject({ status: "ok" });
    await waitFor(() => (watcher.document as { value: number }).value === 9);
  });
});

describe("system listeners", () => {
  function lifecycleApp(listeners: Record<string, Listener>): FakeApp {
    return {
      routes: [{ path: "/", view: { _type: "view", name: "home" }, roles: ["guest", "user"] }],
      views: { home: () => ({ ok: true }) },
      listeners,
    };
  }

  function socketStatus(server: ProtocolServer, params: Record<string, string>): Promise<number> {
    const query = new URLSearchParams({ ...params, vsn: "2.0.0" });
    return upgradeStatus(`${server.socketUrl}/websocket?${query}`);
  }

  it("runs onEnvStart with the first session and again after the last one left, onUserFirstJoin once per user, onSessionStart per socket, and no stop listener", async () => {
    const slow: Listener = async () => {
      await sleep(5);
    };
    const recorded = { onEnvStart: slow, onUserFirstJoin: slow, onSessionStart: slow };
    const { server, calls, backend } = await start(
      lifecycleApp({ ...recorded, onSessionStop: slow, onEnvStop: slow, onUserLeave: slow }),
    );
    expect(calls).toEqual([]);

    const sockets = [1, 2, 3].map(() =>
      connectPhoenix(server, { token: insecureTestToken("alice") }),
    );
    sockets.push(connectPhoenix(server, GUEST));
    const routes: LiveRoute[] = await Promise.all(sockets.map((socket) => openRoute(socket, "/")));
    expect(routes).toHaveLength(4);
    const names = (name: string) => calls.filter((call) => call.listener === name);
    expect(calls[0]).toEqual({ listener: "onEnvStart", userId: undefined, props: {}, event: {} });
    expect(names("onEnvStart")).toHaveLength(1);
    expect(names("onUserFirstJoin")).toEqual([
      { listener: "onUserFirstJoin", userId: "alice", props: {}, event: {} },
    ]);
    expect(
      names("onSessionStart")
        .map((call) => call.userId)
        .sort(),
    ).toEqual(["alice", "alice", "alice", undefined]);

    await Promise.all(
      sockets.map((socket) => new Promise<void>((resolve) => socket.disconnect(() => resolve()))),
    );
    await waitFor(() => backend.stats().sessions === 0);
    await openRoute(connectPhoenix(server, GUEST), "/");
    expect(names("onEnvStart")).toHaveLength(2);
    expect(calls.map((call) => call.listener).every((name) => name in recorded)).toBe(true);
  });

  it("refuses the socket when onEnvStart or onSessionStart fails or is missing, but not for onSessionStart's 404", async () => {
    const logger = { error: vi.fn(), warn: vi.fn() };
    const missing = await start(lifecycleApp({ onSessionStart: noop }), logger);
    expect(await socketStatus(missing.server, GUEST)).toBe(403);
    expect(logger.error).toHaveBeenCalledTimes(1);
    expect(logger.error.mock.calls[0]?.[0]).toMatch(
      /^The app has no onEnvStart listener: @lenra\/app answers 500 for it, and Lenra then refuses every connection/,
    );

    const failing = await start(
      lifecycleApp({
        onEnvStart: noop,
        onSessionStart: () => {
          throw new Error("session start broke");
        },
      }),
      logger,
    );
    expect(await socketStatus(failing.server, GUEST)).toBe(403);
    expect(logger.error).toHaveBeenLastCalledWith(
      "The app's onSessionStart listener failed: session start broke. Lenra then refuses every connection, and so does the dev server.",
    );

    const notFound = await start(
      lifecycleApp({
        onEnvStart: noop,
        onSessionStart: () => {
          throw Object.assign(new Error("Not here"), { status: 404 });
        },
      }),
    );
    expect((await openRoute(connectPhoenix(notFound.server, GUEST), "/")).document).toEqual({
      ok: true,
    });
  });

  it("records a user before onUserFirstJoin: when it fails, that connection is refused and it is never called again", async () => {
    const { server, calls } = await start(
      lifecycleApp({
        onEnvStart: noop,
        onSessionStart: noop,
        onUserFirstJoin: () => {
          throw new Error("first join broke");
        },
      }),
    );
    const token = insecureTestToken("carol");
    expect(await socketStatus(server, { token })).toBe(403);
    expect(await socketStatus(server, { token })).toBe(101);
    expect(calls.filter((call) => call.listener === "onUserFirstJoin")).toHaveLength(1);
  });

  it("refuses a guest that names no app, as Lenra does, and takes any app name", async () => {
    const { server } = await start(lifecycleApp(SYSTEM_LISTENERS));
    expect(await socketStatus(server, {})).toBe(403);
    expect(await socketStatus(server, { app: "" })).toBe(403);
    expect(await socketStatus(server, { app: "any-name" })).toBe(101);
    expect(await socketStatus(server, { token: insecureTestToken("dave") })).toBe(101);
  });
});
