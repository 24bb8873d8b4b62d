import { describe, expect, it, vi } from "vitest";
import {
  type AppClient,
  AppRequestError,
  AppRequestErrorReason,
  createDataApiHandler,
  createDataStore,
  type DataStore,
  type DevServerLogger,
  insecureTestToken,
  LenraAppBackend,
  type ProtocolServer,
  parseManifest,
  startProtocolServer,
} from "../src/index.ts";
import {
  connectPhoenix,
  joinChannel,
  type LiveRoute,
  onCleanup,
  openRoute,
  sleep,
  waitFor,
} from "./helpers.ts";

type View = (
  data: unknown[],
  props: Record<string, unknown>,
  context: Record<string, unknown>,
) => unknown;
interface ListenerApi {
  userId: string | undefined;
  store: DataStore;
}
type Listener = (
  props: Record<string, unknown>,
  event: unknown,
  api: ListenerApi,
) => void | Promise<void>;

interface FakeApp {
  routes: unknown[];
  views: Record<string, View>;
  listeners?: Record<string, Listener>;
  /** When set, every request fails as if the app were down. */
  down?: boolean;
}

interface Harness {
  server: ProtocolServer;
  store: DataStore;
  backend: LenraAppBackend;
  calls: { listener: string; userId: string | undefined; props: unknown; event: unknown }[];
  renders: string[];
}

/** An app in this process behind the real backend, protocol server and data API. */
async function start(app: FakeApp, logger?: DevServerLogger): Promise<Harness> {
  const store = await createDataStore();
  const calls: Harness["calls"] = [];
  const renders: string[] = [];
  let backend: LenraAppBackend | undefined;
  const unreachable = () =>
    new AppRequestError(
      AppRequestErrorReason.Unreachable,
      "The app at fake cannot be reached (ECONNREFUSED). Is it running?",
    );
  const client: AppClient = {
    url: "http://fake.invalid/",
    async manifest() {
      return { json: { routes: app.routes } };
    },
    async view({ view, data, props, context }) {
      await Promise.resolve();
      if (app.down) throw unreachable();
      const render = app.views[view];
      if (!render)
        throw new AppRequestError(AppRequestErrorReason.Failed, `No view found for ${view}`, {
          status: 500,
        });
      renders.push(view);
      try {
        return JSON.parse(
          JSON.stringify(
            render(data, props as Record<string, unknown>, context as Record<string, unknown>),
          ),
        );
      } catch (error) {
        throw new AppRequestError(AppRequestErrorReason.Failed, (error as Error).message, {
          status: 500,
        });
      }
    },
    async listener({ listener, props, event, api }) {
      await Promise.resolve();
      if (app.down) throw unreachable();
      const run = app.listeners?.[listener];
      if (!run) {
        throw new AppRequestError(
          AppRequestErrorReason.Failed,
          `No listener found for ${listener}`,
          { status: 500 },
        );
      }
      const userId = backend?.resolveDataApiToken(api.token)?.userId;
      calls.push({ listener, userId, props, event });
      try {
        await run(props as Record<string, unknown>, event, { userId, store });
      } catch (error) {
        throw new AppRequestError(AppRequestErrorReason.Failed, (error as Error).message, {
          status: 500,
        });
      }
    },
    close() {},
  };
  backend = new LenraAppBackend({
    app: client,
    manifest: parseManifest(await client.manifest()),
    store,
    insecureTestTokens: true,
    maxViewDepth: 5,
    logger,
  });
  const dataApi = createDataApiHandler({
    store,
    resolveToken: (token) => backend?.resolveDataApiToken(token),
  });
  const server = await startProtocolServer({
    backend,
    requestHandler: (request, response) => {
      if (!dataApi(request, response)) response.writeHead(404).end();
    },
  });
  await backend.start(server.url);
  onCleanup(async () => {
    await server.close();
    await backend?.close();
    await store.close();
  });
  return { server, store, backend, calls, renders };
}

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
        pathParams: { id: "7" },
        theme: "dark",
        missing: null,
      },
    });
    const anonymous = connectPhoenix(server);
    expect((await openRoute(anonymous, "/projected/8")).document).toMatchObject({
      context: { me: null, roles: ["guest"], pathParams: { id: "8" }, theme: null },
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
        openRoute(connectPhoenix(server, { context: { theme: "dark" } }), "/themed"),
      ),
    );
    const light = await openRoute(
      connectPhoenix(server, { context: { theme: "light", other: "x" } }),
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
    const sockets = [1, 2, 3].map(() => connectPhoenix(server));
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
    // A change to the collection re-renders; a change elsewhere does not.
    store.createDoc("elsewhere", { any: 1 });
    store.createDoc("notes", { _id: "n6", owner: "alice", tag: "x", rank: 5, text: "five" });
    await waitFor(() => (route.document as { notes: { _id: string }[] }).notes[0]?._id === "n6");
    expect(route.count("patchUi")).toBe(1);
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
    const socket = connectPhoenix(server);
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
      const channel = socket.channel(`route:${path}`, { mode: "json" });
      const errors: { message: string; reason: string }[] = [];
      channel.on("error", (payload) => {
        errors.push(payload);
      });
      expect((await joinChannel(channel)).status).toBe("ok");
      await waitFor(() => errors.length > 0);
      expect(errors[0]?.reason).toBe("view_error");
      expect(errors[0]?.message).toContain(message);
    }
  });

  it("turns garbage from the app into view errors", async () => {
    const { server } = await start({
      routes: [
        { path: "/string", view: { _type: "view", name: "string" }, roles: ["guest"] },
        { path: "/array", view: { _type: "view", name: "array" }, roles: ["guest"] },
        { path: "/nameless", view: { _type: "view", name: "nameless" }, roles: ["guest"] },
        { path: "/throws", view: { _type: "view", name: "throws" }, roles: ["guest"] },
        { path: "/unknown", view: { _type: "view", name: "unknown" }, roles: ["guest"] },
      ],
      views: {
        string: () => "hello",
        array: () => [1, 2],
        nameless: () => ({ onTap: { _type: "listener" } }),
        throws: () => {
          throw new Error("the view broke");
        },
      },
    });
    const socket = connectPhoenix(server);
    const expectations: [string, string][] = [
      ["/string", 'The view "string" of route /string must return a JSON object, not a string.'],
      ["/array", "must return a JSON object, not an array"],
      ["/nameless", 'The view "nameless" has a listener without a name at /onTap.'],
      ["/throws", 'The view "throws" failed: the view broke'],
      ["/unknown", 'The view "unknown" failed: No view found for unknown'],
    ];
    for (const [path, message] of expectations) {
      const channel = socket.channel(`route:${path}`, { mode: "json" });
      const errors: { message: string }[] = [];
      channel.on("error", (payload) => {
        errors.push(payload);
      });
      await joinChannel(channel);
      await waitFor(() => errors.length > 0, 3_000, path);
      expect(errors[0]?.message).toContain(message);
    }
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
    const guest = await openRoute(connectPhoenix(server), "/count");
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
    const route = await openRoute(connectPhoenix(server), "/count");
    const failed = await route.run(route.code("fail"));
    expect(failed).toEqual({
      status: "error",
      response: { error: { message: "it failed after writing", reason: "listener_error" } },
    });
    expect((route.document as { value: number }).value).toBe(100);
    const gone = await route.run(route.code("gone"));
    expect(gone.response).toEqual({
      error: { message: 'The app has no listener named "gone".', reason: "listener_not_found" },
    });
    expect(route.errors).toHaveLength(2);
  });

  it("answers errors while the app is down and recovers when it is back", async () => {
    const app = counterApp();
    const { server, store } = await start(app);
    const route = await openRoute(connectPhoenix(server), "/count");
    const watcher = await openRoute(connectPhoenix(server), "/count");
    app.down = true;
    const reply = await route.run(route.code("add"));
    expect(reply).toMatchObject({
      status: "error",
      response: { error: { reason: "listener_error" } },
    });
    expect((reply.response as { error: { message: string } }).error.message).toContain(
      "cannot be reached",
    );
    store.createDoc("count", { n: 7 });
    await waitFor(() => watcher.errors.length > 0);
    expect(watcher.errors[0]).toMatchObject({
      reason: "view_error",
      metadata: { route: "/count", view: "count" },
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

  it("runs onEnvStart once, onUserFirstJoin once per user, onSessionStart and onSessionStop per socket", async () => {
    const noop: Listener = async () => {
      await sleep(5);
    };
    const { server, calls } = await start(
      lifecycleApp({
        onEnvStart: noop,
        onUserFirstJoin: noop,
        onSessionStart: noop,
        onSessionStop: noop,
      }),
    );
    expect(calls).toEqual([{ listener: "onEnvStart", userId: undefined, props: {}, event: {} }]);

    const sockets = [1, 2, 3].map(() =>
      connectPhoenix(server, { token: insecureTestToken("alice") }),
    );
    sockets.push(connectPhoenix(server));
    const routes: LiveRoute[] = await Promise.all(sockets.map((socket) => openRoute(socket, "/")));
    expect(routes).toHaveLength(4);
    const names = (name: string) => calls.filter((call) => call.listener === name);
    expect(names("onUserFirstJoin")).toEqual([
      { listener: "onUserFirstJoin", userId: "alice", props: {}, event: {} },
    ]);
    expect(
      names("onSessionStart")
        .map((call) => call.userId)
        .sort(),
    ).toEqual(["alice", "alice", "alice", undefined]);

    await new Promise<void>((resolve) => sockets[0]?.disconnect(() => resolve()));
    await waitFor(() => names("onSessionStop").length === 1);
    expect(names("onSessionStop")[0]?.userId).toBe("alice");
    expect(names("onEnvStart")).toHaveLength(1);
  });

  it("skips the ones the app does not define, and logs the ones that fail", async () => {
    const logger = { error: vi.fn(), warn: vi.fn() };
    const { server } = await start(
      lifecycleApp({
        onSessionStart: () => {
          throw new Error("session start broke");
        },
      }),
      logger,
    );
    const route = await openRoute(connectPhoenix(server, { token: insecureTestToken("bob") }), "/");
    expect(route.document).toEqual({ ok: true });
    // onEnvStart and onUserFirstJoin are absent: skipped in silence.
    expect(logger.error).toHaveBeenCalledTimes(1);
    expect(logger.error).toHaveBeenCalledWith("the app's onSessionStart listener failed", {
      error: "session start broke",
    });
  });
});
