import { insecureTestToken, listener } from "@lenra/devserver/testing";
import { afterEach, describe, expect, it } from "vitest";
import {
  isListener,
  LenraErrorCode,
  LenraJoinError,
  LenraListenerError,
  LenraListenerTimeoutError,
  LenraRouteError,
  type Listener,
} from "../src/index.ts";
import { type Harness, sleep, startHarness, waitFor } from "./support/server.ts";

interface State {
  broken?: boolean;
  count: number;
  items: { id: string; title: string }[];
  personal: Record<string, number>;
}

interface CounterView {
  value: number;
  onIncrement: { _type: "listener"; code: string };
  onFail: { _type: "listener"; code: string };
}

let harness: Harness<State>;

async function start(options: Parameters<typeof startHarness<State>>[1] = {}) {
  harness = await startHarness<State>(
    {
      state: { count: 0, items: [{ id: "a", title: "A" }], personal: {} },
      routes: {
        "/counter": {
          roles: ["guest", "user"],
          view: (state) => ({
            value: state.count,
            onIncrement: listener("increment"),
            onFail: listener("fail"),
          }),
        },
        "/items": {
          roles: ["guest", "user"],
          view: (state) => ({
            items: state.items.map((item) => ({
              ...item,
              onRemove: listener("remove", { id: item.id }),
            })),
          }),
        },
        "/fragile": {
          roles: ["guest", "user"],
          view: (state) => {
            if (state.broken) throw new Error("not yet");
            return { value: state.count };
          },
        },
        "/me": {
          view: (state, { me }) => ({ me, value: state.personal[me ?? ""] ?? 0 }),
        },
      },
      listeners: {
        increment: (state) => {
          state.count += 1;
        },
        fail: () => {
          throw new Error("boom");
        },
        remove: (state, props) => {
          state.items = state.items.filter((item) => item.id !== props?.id);
        },
      },
    },
    options,
  );
  return harness;
}

afterEach(async () => {
  await harness?.close();
});

const acceptedJoins = (topic: string) =>
  harness.server.events.filter((e) => e.type === "join" && e.topic === topic && e.status === "ok")
    .length;

describe("views over a real socket", () => {
  it("joins on first subscribe and shows the document with listener functions", async () => {
    await start();
    const client = harness.client();
    expect(client.connection.getSnapshot().status).toBe("idle");
    const view = client.view<CounterView>("/counter");
    expect(view.getSnapshot()).toMatchObject({
      status: "pending",
      data: undefined,
      isStale: false,
    });
    const off = view.subscribe(() => {});
    const state = await waitFor(view, (s) => s.status === "success");
    expect(client.connection.getSnapshot().status).toBe("open");
    expect(state.data?.value).toBe(0);
    expect(isListener(state.data?.onIncrement)).toBe(true);
    expect(state.data?.onIncrement.code).toMatch(/\w+/);
    expect(JSON.parse(JSON.stringify(state.data))).toEqual({
      value: 0,
      onIncrement: { _type: "listener", code: state.data?.onIncrement.code },
      onFail: { _type: "listener", code: state.data?.onFail.code },
    });
    off();
  });

  it("applies patches from the server and keeps untouched listeners identical", async () => {
    await start();
    const view = harness.client().view<CounterView>("/counter");
    view.subscribe(() => {});
    const first = await waitFor(view, (s) => s.status === "success");
    await harness.app.update((state) => {
      state.count = 41;
    });
    const next = await waitFor(view, (s) => s.data?.value === 41);
    expect(next).not.toBe(first);
    expect(next.data?.onIncrement).toBe(first.data?.onIncrement);
    expect(next.isStale).toBe(false);
  });

  it("shares one join between two subscribers of a path and between two view() calls", async () => {
    await start();
    const client = harness.client();
    const a = client.view("/counter");
    const b = client.view("/counter");
    expect(a).toBe(b);
    a.subscribe(() => {});
    b.subscribe(() => {});
    await waitFor(a, (s) => s.status === "success");
    await sleep(100);
    expect(acceptedJoins("route:/counter")).toBe(1);
    expect(harness.server.stats().channels["route:/counter"]).toBe(1);
  });

  it("keeps the channel through a quick remount and leaves after the linger time", async () => {
    await start();
    const view = harness.client({ lingerMs: 300 }).view("/counter");
    let off = view.subscribe(() => {});
    await waitFor(view, (s) => s.status === "success");
    off();
    await sleep(50);
    off = view.subscribe(() => {});
    await sleep(400);
    expect(harness.server.count("leave", "route:/counter")).toBe(0);
    expect(acceptedJoins("route:/counter")).toBe(1);
    off();
    await harness.server.until(() =>
      harness.server.events.some((e) => e.type === "leave" && e.topic === "route:/counter"),
    );
    expect(view.getSnapshot().status).toBe("pending");
    view.subscribe(() => {});
    await waitFor(view, (s) => s.status === "success");
    expect(acceptedJoins("route:/counter")).toBe(2);
  });

  it("calls a listener once and resolves after the server ran it", async () => {
    await start();
    const view = harness.client().view<CounterView>("/counter");
    view.subscribe(() => {});
    const { data } = await waitFor(view, (s) => s.status === "success");
    await data?.onIncrement();
    expect(harness.app.state.count).toBe(1);
    expect(harness.app.calls.filter((c) => c.name === "increment")).toHaveLength(1);
    // The server pushes the patch before its reply on the calling socket.
    expect(view.getSnapshot().data?.value).toBe(1);
  });

  it("drops DOM events passed to a listener instead of sending them", async () => {
    await start();
    const view = harness.client().view<CounterView>("/counter");
    view.subscribe(() => {});
    const { data } = await waitFor(view, (s) => s.status === "success");
    const onIncrement = data?.onIncrement as Listener<unknown>;
    await onIncrement({ nativeEvent: {}, target: {} });
    await onIncrement({ value: "kept" });
    const events = harness.app.calls.map((c) => c.event);
    expect(events).toEqual([undefined, { value: "kept" }]);
  });

  it("rejects a failing listener with the server's reason and shows the route error", async () => {
    await start();
    const view = harness.client().view<CounterView>("/counter");
    view.subscribe(() => {});
    const { data } = await waitFor(view, (s) => s.status === "success");
    const error = await data?.onFail().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LenraListenerError);
    expect(error).toMatchObject({
      code: LenraErrorCode.ListenerFailed,
      reason: "listener_error",
      route: "/counter",
    });
    const state = await waitFor(view, (s) => s.error !== undefined);
    expect(state.error).toBeInstanceOf(LenraRouteError);
    expect(state.status).toBe("success");
    expect(state.data?.value).toBe(0);
  });

  it("rejects with an outcome-unknown error on timeout and never resends the call", async () => {
    await start();
    const release = harness.app.hang("increment");
    const view = harness.client({ listenerTimeoutMs: 300 }).view<CounterView>("/counter");
    view.subscribe(() => {});
    const { data } = await waitFor(view, (s) => s.status === "success");
    const error = await data?.onIncrement().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LenraListenerTimeoutError);
    expect(error).toMatchObject({ code: LenraErrorCode.ListenerOutcomeUnknown });
    await sleep(200);
    expect(harness.server.count("run", "route:/counter")).toBe(1);
    release();
    await waitFor(view, (s) => s.data?.value === 1);
    expect(harness.app.calls.filter((c) => c.name === "increment")).toHaveLength(1);
  });

  it("rejects a listener call for a view nobody subscribes to", async () => {
    await start();
    const client = harness.client({ lingerMs: 0 });
    const view = client.view<CounterView>("/counter");
    const off = view.subscribe(() => {});
    const { data } = await waitFor(view, (s) => s.status === "success");
    off();
    await harness.server.until(() => harness.server.events.some((e) => e.type === "leave"));
    await expect(data?.onIncrement()).rejects.toMatchObject({ code: LenraErrorCode.ViewClosed });
  });

  it("exposes a route error event on the snapshot and keeps the data", async () => {
    await start();
    const view = harness.client().view<CounterView>("/counter");
    view.subscribe(() => {});
    await waitFor(view, (s) => s.status === "success");
    harness.server.push("route:/counter", "error", {
      errors: [{ message: "It broke", reason: "view_error" }],
    });
    const state = await waitFor(view, (s) => s.error !== undefined);
    expect(state.error).toBeInstanceOf(LenraRouteError);
    expect(state.error).toMatchObject({ reason: "view_error", route: "/counter" });
    expect(state).toMatchObject({ status: "success", data: { value: 0 } });
    await harness.app.update((s) => {
      s.count = 2;
    });
    const recovered = await waitFor(view, (s) => s.data?.value === 2);
    expect(recovered.error).toBeUndefined();
  });

  it("turns a refused join into a typed error and stops retrying after the bounded attempts", async () => {
    await start();
    const view = harness.client({ maxJoinAttempts: 2 }).view("/does-not-exist");
    view.subscribe(() => {});
    const state = await waitFor(view, (s) => s.status === "error");
    expect(state.error).toBeInstanceOf(LenraJoinError);
    expect(state.error).toMatchObject({ reason: "route_does_not_exist", route: "/does-not-exist" });
    await harness.server.until(
      () =>
        harness.server.events.filter(
          (e) => e.type === "join" && e.topic === "route:/does-not-exist",
        ).length >= 2,
    );
    await sleep(2500);
    expect(
      harness.server.events.filter((e) => e.type === "join" && e.topic === "route:/does-not-exist"),
    ).toHaveLength(2);
    expect(harness.server.stats().channels["route:/does-not-exist"] ?? 0).toBe(0);
  });

  it("stays pending while a refused join is tried again, and turns error once it gives up", async () => {
    await start();
    const view = harness.client({ maxJoinAttempts: 3 }).view("/does-not-exist");
    const seen: string[] = [];
    const refusals = () =>
      harness.server.events.filter((e) => e.type === "join" && e.topic === "route:/does-not-exist")
        .length;
    let refusalsAtError = 0;
    view.subscribe(() => {
      const { status } = view.getSnapshot();
      if (status === "error" && refusalsAtError === 0) refusalsAtError = refusals();
      if (seen.at(-1) !== status) seen.push(status);
    });
    const state = await waitFor(view, (s) => s.status === "error");
    expect(state.error).toMatchObject({ code: LenraErrorCode.JoinRefused });
    // No error while phoenix joined again: the first status change is the final error.
    expect(seen).toEqual(["error"]);
    expect(refusalsAtError).toBe(3);
  });

  it("starts over on retry(): pending, a fresh join, and load() waits for its outcome", async () => {
    await start();
    await harness.app.update((state) => {
      state.broken = true;
    });
    const joinAttempts = () =>
      harness.server.events.filter((e) => e.type === "join" && e.topic === "route:/fragile").length;
    // A view that fails on its first render gets its join refused, as on Lenra.
    const view = harness.client({ maxJoinAttempts: 1 }).view<{ value: number }>("/fragile");
    const failed = await view.load();
    expect(failed).toMatchObject({
      status: "error",
      error: { code: LenraErrorCode.JoinRefused, reason: "view_error" },
    });
    expect(joinAttempts()).toBe(1);

    view.subscribe(() => {});
    view.retry();
    expect(view.getSnapshot().status).toBe("pending");
    const again = await view.load();
    // A new attempt's outcome, not the old error handed back.
    expect(again.status).toBe("error");
    expect(again.error).not.toBe(failed.error);
    expect(joinAttempts()).toBe(2);
    await harness.app.update((state) => {
      state.broken = false;
      state.count = 4;
    });
    view.retry();
    expect((await waitFor(view, (s) => s.status === "success")).data).toEqual({ value: 4 });
    expect(acceptedJoins("route:/fragile")).toBe(1);
  });

  it("refuses a guest a user-only route, and lets a user in", async () => {
    await start();
    const guestView = harness.client({ maxJoinAttempts: 1 }).view("/me");
    guestView.subscribe(() => {});
    const refused = await waitFor(guestView, (s) => s.status === "error");
    expect(refused.error).toMatchObject({ reason: "route_does_not_exist" });

    const userView = harness
      .client({ getAccessToken: () => insecureTestToken("alice") })
      .view("/me");
    userView.subscribe(() => {});
    const state = await waitFor(userView, (s) => s.status === "success");
    expect(state.data).toEqual({ me: "alice", value: 0 });
  });

  it("resyncs with a fresh document when a patch cannot be applied", async () => {
    await start();
    const view = harness.client().view<CounterView>("/counter");
    view.subscribe(() => {});
    const before = await waitFor(view, (s) => s.status === "success");
    const seen: unknown[] = [];
    view.subscribe(() => seen.push(view.getSnapshot().data));
    await harness.app.update((state) => {
      state.count = 7;
    });
    await waitFor(view, (s) => s.data?.value === 7);
    // A broken patch: the client must not apply any part of it, and must rejoin for a whole ui.
    harness.server.push("route:/counter", "patchUi", {
      patch: [
        { op: "replace", path: "/value", value: 999 },
        { op: "replace", path: "/missing/deep", value: 1 },
      ],
    });
    await harness.server.until(
      () => harness.server.events.filter((e) => e.type === "join" && e.status === "ok").length >= 2,
    );
    const after = await waitFor(
      view,
      (s) => s.status === "success" && !s.isStale && s.data?.value === 7,
    );
    expect(seen.every((data) => (data as { value?: number } | undefined)?.value !== 999)).toBe(
      true,
    );
    expect(harness.server.count("leave", "route:/counter")).toBe(1);
    expect(after.data?.onIncrement.code).toBe(before.data?.onIncrement.code);
  });

  it("resyncs when a patch arrives before any whole document of the join", async () => {
    // Lenra always pushes the whole ui right after a join's reply. A backend may send its first
    // document later (the protocol allows `initial: undefined`): this one answers the first
    // join of /fragile so, then serves the app as it is.
    let holdFirst = true;
    await start({
      backend: (app) => ({
        authenticate: (request) => app.authenticate(request),
        async openSession(info) {
          const session = await app.openSession(info);
          return {
            routes: () => session.routes(),
            run: (code, event, meta) => session.run(code, event, meta),
            close: () => session.close(),
            openRoute(path, sink) {
              if (path !== "/fragile" || !holdFirst) return session.openRoute(path, sink);
              holdFirst = false;
              return { initial: undefined, close() {} };
            },
          };
        },
      }),
    });
    await harness.app.update((state) => {
      state.count = 3;
    });
    const view = harness.client().view<{ value: number }>("/fragile");
    const seen: unknown[] = [];
    view.subscribe(() => seen.push(view.getSnapshot().data));
    await harness.server.until(() => acceptedJoins("route:/fragile") === 1);
    expect(view.getSnapshot().data).toBeUndefined();
    harness.server.push("route:/fragile", "patchUi", {
      patch: [{ op: "add", path: "/value", value: 5 }],
    });
    await harness.server.until(() => harness.server.count("leave", "route:/fragile") === 1);
    const state = await waitFor(view, (s) => s.status === "success");
    expect(state.data).toEqual({ value: 3 });
    // The patch was applied to nothing: every snapshot before the whole ui had no data.
    for (const data of seen) if (data !== undefined) expect(data).toEqual({ value: 3 });
    expect(acceptedJoins("route:/fragile")).toBe(2);
  });

  it("goes reconnecting then open when the server restarts, marking data stale meanwhile", async () => {
    await start();
    const client = harness.client();
    const view = client.view<CounterView>("/counter");
    view.subscribe(() => {});
    await waitFor(view, (s) => s.status === "success");
    await harness.server.close();
    const stale = await waitFor(view, (s) => s.isStale);
    expect(stale.data?.value).toBe(0);
    await waitFor(client.connection, (s) => s.status === "reconnecting");
    await harness.app.update((state) => {
      state.count = 12;
    });
    await harness.server.listen();
    await waitFor(client.connection, (s) => s.status === "open", { timeoutMs: 20_000 });
    const fresh = await waitFor(view, (s) => !s.isStale && s.data?.value === 12, {
      timeoutMs: 20_000,
    });
    expect(fresh.status).toBe("success");
  });

  it("lists the routes this session may join", async () => {
    await start();
    const routes = await harness.client().routes();
    expect(routes.map((r) => r.path).sort()).toEqual(["/counter", "/fragile", "/items"]);
    const userRoutes = await harness
      .client({ getAccessToken: () => insecureTestToken("bob") })
      .routes();
    expect(userRoutes.map((r) => r.path).sort()).toEqual(["/counter", "/fragile", "/items", "/me"]);
  });

  it("sends the app name, params and context with the socket", async () => {
    await start();
    const client = harness.client({
      appName: "my-app",
      context: { locale: "fr", screen: { w: 3 } },
    });
    const view = client.view("/counter");
    view.subscribe(() => {});
    await waitFor(view, (s) => s.status === "success");
    const [session] = harness.server.sessions();
    expect(session?.context).toEqual({ locale: "fr", screen: { w: "3" } });
  });

  it("removes an item with its listener and keeps the other items' listeners", async () => {
    await start();
    await harness.app.update((state) => {
      state.items = [
        { id: "a", title: "A" },
        { id: "b", title: "B" },
        { id: "c", title: "C" },
      ];
    });
    type Items = {
      items: { id: string; title: string; onRemove: { _type: "listener"; code: string } }[];
    };
    const view = harness.client().view<Items>("/items");
    view.subscribe(() => {});
    const first = await waitFor(view, (s) => s.data?.items.length === 3);
    const onRemoveC = first.data?.items[2]?.onRemove;
    await first.data?.items[0]?.onRemove();
    const next = await waitFor(view, (s) => s.data?.items.length === 2);
    expect(next.data?.items.map((i) => i.id)).toEqual(["b", "c"]);
    expect(next.data?.items.find((i) => i.id === "c")?.onRemove.code).toBe(onRemoveC?.code);
  });
});
