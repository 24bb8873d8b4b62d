import { describe, expect, it } from "vitest";
import { insecureTestToken, listener } from "../src/testing.ts";
import { counterApp } from "./fixtures.ts";
import {
  connectPhoenix,
  joinChannel,
  LiveRoute,
  openRoute,
  RawClient,
  sleep,
  startHarness,
  waitFor,
} from "./helpers.ts";

const ROUTE_NOT_FOUND = {
  message: "The given route does not exist. Please check your manifest.",
  reason: "route_does_not_exist",
};

describe("route:<path> channel", () => {
  it("replies ok {} to a json join, then pushes the whole document with listeners as codes", async () => {
    const { server } = await startHarness(counterApp());
    const socket = connectPhoenix(server);
    const route = new LiveRoute(socket, "/counter");
    expect(await route.join()).toEqual({ status: "ok", response: {} });
    await waitFor(() => route.document !== undefined);
    const document = route.document as Record<string, unknown>;
    expect(document).toMatchObject({ value: 0, title: "Counter" });
    expect(document.onIncrement).toEqual({ _type: "listener", code: expect.any(String) });
    expect(JSON.stringify(document)).not.toMatch(/"name"|"props"|increment/);
  });

  it("runs a listener: patches every session that joined, then replies ok {}", async () => {
    const { app, server } = await startHarness(counterApp());
    const [first, second] = await Promise.all([
      openRoute(connectPhoenix(server), "/counter"),
      openRoute(connectPhoenix(server, { token: insecureTestToken("alice") }), "/counter"),
    ]);
    const bystander = await openRoute(
      connectPhoenix(server, { token: insecureTestToken("bob") }),
      "/counter/me",
    );

    const reply = await first.run(first.code("onIncrement"));
    expect(reply).toEqual({ status: "ok", response: {} });
    // The caller's view already changed when the reply came.
    expect(first.document).toMatchObject({ value: 1 });
    await waitFor(() => (second.document as { value: number }).value === 1);
    expect(first.received.at(-1)).toEqual({
      event: "patchUi",
      payload: { patch: [{ op: "replace", path: "/value", value: 1 }] },
    });

    // Each session's own listener codes work, and both see each other's changes.
    expect((await second.run(second.code("onAdd"), { extra: 2 })).status).toBe("ok");
    await waitFor(() => (first.document as { value: number }).value === 8);
    expect(app.state.count).toBe(8);
    expect(app.calls.map((call) => [call.name, call.userId, call.status])).toEqual([
      ["increment", undefined, "ok"],
      ["add", "alice", "ok"],
    ]);
    expect(app.calls[1]?.event).toEqual({ extra: 2 });

    // A route whose result did not change gets no patch at all.
    await sleep(20);
    expect(bystander.count("patchUi")).toBe(0);
    expect(server.count("run", "route:/counter")).toBe(2);
  });

  it("patches only what changed, per user", async () => {
    const { server } = await startHarness(counterApp());
    const alice = await openRoute(
      connectPhoenix(server, { token: insecureTestToken("alice") }),
      "/counter/me",
    );
    const bob = await openRoute(
      connectPhoenix(server, { token: insecureTestToken("bob") }),
      "/counter/me",
    );
    expect(alice.document).toMatchObject({ me: "alice", value: 0 });
    await alice.run(alice.code("onIncrement"));
    await alice.run(alice.code("onIncrement"));
    expect(alice.received.filter((r) => r.event === "patchUi").map((r) => r.payload)).toEqual([
      { patch: [{ op: "replace", path: "/value", value: 1 }] },
      { patch: [{ op: "replace", path: "/value", value: 2 }] },
    ]);
    await sleep(20);
    expect(bob.count("patchUi")).toBe(0);
    expect(bob.document).toMatchObject({ me: "bob", value: 0 });
  });

  it("answers a failed listener with an error reply and pushes an error event", async () => {
    const { app, server } = await startHarness(counterApp());
    const route = await openRoute(connectPhoenix(server), "/counter");
    expect(await route.run(route.code("onFail"))).toEqual({
      status: "error",
      response: { error: { message: "Boom", reason: "listener_error" } },
    });
    expect(route.errors).toEqual([{ message: "Boom", reason: "listener_error" }]);
    // The push came before the reply, as on Lenra.
    expect(route.received.at(-1)?.event).toBe("error");

    expect(await route.run(route.code("onRefuse"))).toEqual({
      status: "error",
      response: { error: { message: "You may not do that.", reason: "not_allowed" } },
    });
    expect(app.calls.map((call) => call.status)).toEqual(["error", "error"]);
    expect(server.events.filter((e) => e.type === "runResult")).toMatchObject([
      { status: "error", reason: "listener_error" },
      { status: "error", reason: "not_allowed" },
    ]);
  });

  it("refuses unknown codes with Lenra's `unknow_listener_code`, and codes of another session", async () => {
    const { server } = await startHarness(counterApp());
    const mine = await openRoute(connectPhoenix(server), "/counter");
    const other = await openRoute(connectPhoenix(server), "/counter/me").catch(() => undefined);
    expect(other).toBeUndefined(); // guests cannot see /counter/me
    const alice = await openRoute(
      connectPhoenix(server, { token: insecureTestToken("alice") }),
      "/counter/me",
    );

    // As on Lenra: the code comes back as metadata, the reply has the status, the event not.
    const refused = {
      message: "No listeners found for the given code",
      reason: "unknow_listener_code",
    };
    const unknown = (code: string) => ({
      status: "error",
      response: { error: { ...refused, metadata: code, status_code: 400 } },
    });
    const aliceCode = alice.code("onIncrement");
    expect(await mine.run("not-a-code")).toEqual(unknown("not-a-code"));
    expect(await mine.run(aliceCode)).toEqual(unknown(aliceCode));
    expect(mine.errors).toEqual([
      { ...refused, metadata: "not-a-code" },
      { ...refused, metadata: aliceCode },
    ]);
    // A code the app has no listener for.
    expect(await mine.run(mine.code("onMissing"))).toEqual({
      status: "error",
      response: { error: { message: "Listener not found", reason: "listener_not_found" } },
    });
  });

  it("refuses unknown routes, routes the session's role may not see, and modes other than json, as Lenra", async () => {
    const { app, server } = await startHarness(counterApp());
    const guest = connectPhoenix(server);
    const unknown = guest.channel("route:/nope", { mode: "json" });
    expect(await joinChannel(unknown)).toEqual({
      status: "error",
      response: { ...ROUTE_NOT_FOUND, metadata: "/nope", status_code: 400 },
    });
    unknown.leave();
    const reserved = guest.channel("route:/counter/me", { mode: "json" });
    expect(await joinChannel(reserved)).toEqual({
      status: "error",
      response: { ...ROUTE_NOT_FOUND, metadata: "/counter/me", status_code: 400 },
    });
    reserved.leave();
    // Lenra mode (Lenra components, also what a join without a mode means): no such route.
    for (const payload of [{ mode: "lenra" }, {}]) {
      const lenraMode = guest.channel("route:/counter", payload);
      expect(await joinChannel(lenraMode)).toEqual({
        status: "error",
        response: { ...ROUTE_NOT_FOUND, metadata: "/counter", status_code: 400 },
      });
      lenraMode.leave();
    }
    const unknownMode = guest.channel("route:/counter", { mode: "xml" });
    expect(await joinChannel(unknownMode)).toEqual({
      status: "error",
      response: {
        message: "The view mode should be one of 'lenra', 'json'.",
        reason: "incorrect_view_mode",
        metadata: { mode: "xml" },
        status_code: 400,
      },
    });
    unknownMode.leave();
    expect(app.stats().openRoutes).toBe(0);
    expect(server.stats().channels).toEqual({});
    expect(server.events.filter((e) => e.type === "join").map((e) => e.status)).toContain("error");
  });

  it("passes decoded path params and the socket's nested context to views", async () => {
    const { server } = await startHarness(counterApp());
    const socket = connectPhoenix(server, { context: { theme: "dark", screen: { w: "320" } } });
    const item = await openRoute(socket, "/items/a%20b");
    expect(item.document).toEqual({ id: "a b" });
    const context = await openRoute(socket, "/context");
    expect(context.document).toEqual({
      context: { theme: "dark", screen: { w: "320" } },
      me: null,
      roles: ["guest"],
    });
  });

  it("pushes a fresh whole ui on every join, and ui after leaving and rejoining", async () => {
    const { app, server } = await startHarness(counterApp());
    const socket = connectPhoenix(server);
    const route = await openRoute(socket, "/counter");
    await new Promise((resolve) => route.channel.leave().receive("ok", resolve));
    await app.update((state) => {
      state.count = 5;
    });
    const again = await openRoute(socket, "/counter");
    expect(again.received[0]).toMatchObject({ event: "ui", payload: { value: 5 } });
    expect(server.count("join", "route:/counter")).toBe(2);
    expect(server.count("leave", "route:/counter")).toBe(1);
  });

  it("pushes view errors as error events and keeps patching from the last good document", async () => {
    const { app, server } = await startHarness(counterApp());
    const route = await openRoute(connectPhoenix(server), "/broken");
    await app.update((state) => {
      state.title = "broken";
    });
    await waitFor(() => route.errors.length === 1);
    expect(route.errors[0]).toEqual({
      message: "The view failed",
      reason: "view_error",
      metadata: { route: "/broken" },
    });
    await app.update((state) => {
      state.title = "fixed";
    });
    await waitFor(() => route.count("patchUi") === 1);
    expect(route.document).toEqual({ title: "fixed" });

    // A first render that fails refuses the join with the error, as on Lenra; once the view
    // renders again, a join gets the whole ui.
    await app.update((state) => {
      state.title = "broken";
    });
    const late = new LiveRoute(connectPhoenix(server), "/broken");
    expect(await late.join()).toEqual({
      status: "error",
      response: {
        message: "The view failed",
        reason: "view_error",
        metadata: { route: "/broken" },
      },
    });
    late.channel.leave();
    expect(late.received).toEqual([]);
    await app.update((state) => {
      state.title = "back";
    });
    const again = await openRoute(connectPhoenix(server), "/broken");
    expect(again.received).toEqual([{ event: "ui", payload: { title: "back" } }]);
  });

  it("lets tests inject pushes, hang listeners and crash nothing else", async () => {
    const { app, server } = await startHarness(counterApp());
    const route = await openRoute(connectPhoenix(server), "/counter");
    expect(
      server.push("route:/counter", "error", { errors: [{ message: "Injected", reason: "x" }] }),
    ).toBe(1);
    await waitFor(() => route.errors.length === 1);
    expect(route.errors[0]).toEqual({ errors: [{ message: "Injected", reason: "x" }] });
    expect(server.push("route:/not-joined", "error", {})).toBe(0);

    const release = app.hang("increment");
    expect((await route.run(route.code("onIncrement"), undefined, 200)).status).toBe("timeout");
    expect(app.calls.at(-1)).toMatchObject({ name: "increment", status: "pending" });
    expect(app.state.count).toBe(0);
    release();
    await waitFor(() => (route.document as { value: number }).value === 1);
    expect(app.calls.at(-1)?.status).toBe("ok");

    // A deliberately broken patch reaches the client untouched.
    const raw = await RawClient.open(server);
    raw.send(["1", "1", "route:/counter", "phx_join", { mode: "json" }]);
    await raw.next((f) => f[3] === "ui");
    const broken = { patch: [{ op: "replace", path: "/nope/deeper", value: 1 }] };
    expect(server.push("route:/counter", "patchUi", broken)).toBe(2);
    expect(await raw.next((f) => f[3] === "patchUi")).toEqual([
      "1",
      null,
      "route:/counter",
      "patchUi",
      broken,
    ]);
    await waitFor(() => route.patchFailures === 1);
    expect(route.document).toMatchObject({ value: 1 });
  });
});

describe("routes channel", () => {
  it("lists the json routes the session's role may see", async () => {
    const { server } = await startHarness(counterApp());
    const guest = connectPhoenix(server);
    const guestRoutes = await joinChannel(guest.channel("routes", { mode: "json" }));
    expect(guestRoutes.status).toBe("ok");
    const paths = (guestRoutes.response as { jsonRoutes: { path: string }[] }).jsonRoutes.map(
      (route) => route.path,
    );
    expect(paths).toEqual(["/counter", "/items/:id", "/context", "/broken"]);

    const user = connectPhoenix(server, { token: insecureTestToken("alice") });
    const userRoutes = await joinChannel(user.channel("routes", { mode: "json" }));
    expect((userRoutes.response as { jsonRoutes: unknown[] }).jsonRoutes).toEqual([
      { path: "/counter", view: { _type: "view", name: "/counter" }, roles: ["guest", "user"] },
      { path: "/counter/me", view: { _type: "view", name: "/counter/me" }, roles: ["user"] },
      { path: "/items/:id", view: { _type: "view", name: "/items/:id" }, roles: ["guest", "user"] },
      { path: "/context", view: { _type: "view", name: "/context" }, roles: ["guest", "user"] },
      { path: "/broken", view: { _type: "view", name: "/broken" }, roles: ["guest", "user"] },
    ]);

    // A backend without Lenra-component routes lists none; another mode is Lenra's refusal.
    const lenraMode = guest.channel("routes", { mode: "lenra" });
    expect(await joinChannel(lenraMode)).toEqual({ status: "ok", response: { lenraRoutes: [] } });
    lenraMode.leave();
    const noMode = guest.channel("routes", {});
    expect(await joinChannel(noMode)).toEqual({
      status: "error",
      response: {
        message: "The given channel name does not exist.",
        reason: "invalid_channel_name",
        metadata: {},
      },
    });
    noMode.leave();
  });
});

describe("ordering", () => {
  interface State {
    n: number;
    log: number[];
  }

  function slowApp() {
    return {
      state: { n: 0, log: [] } as State,
      routes: {
        "/slow": {
          roles: ["guest" as const],
          // Random delays make renders finish out of order if nothing serializes them.
          view: async (state: State) => {
            const snapshot = { n: state.n, log: [...state.log], bump: listener("bump") };
            await sleep(Math.random() * 4);
            return snapshot;
          },
        },
      },
      listeners: {
        bump: async (state: State, _props: unknown, event: unknown) => {
          await sleep(Math.random() * 3);
          state.n++;
          state.log.push((event as { i: number }).i);
        },
      },
    };
  }

  it("converges to the server's latest document after 100 rapid updates", async () => {
    const { app, server } = await startHarness(slowApp());
    const routes = await Promise.all(
      [1, 2, 3].map(() => openRoute(connectPhoenix(server), "/slow")),
    );
    const updates: Promise<void>[] = [];
    for (let i = 0; i < 100; i++) {
      updates.push(
        app.update((state) => {
          state.n = i;
          state.log.push(i);
        }),
      );
    }
    await Promise.all(updates);
    const expected = { n: 99, log: Array.from({ length: 100 }, (_, i) => i) };
    for (const route of routes) {
      await waitFor(() => (route.document as State).log?.length === 100, 15_000, "convergence");
      expect(route.document).toMatchObject(expected);
    }
    // Renders were folded: far fewer patches than updates, none of them empty.
    for (const route of routes) {
      expect(route.count("patchUi")).toBeLessThan(100);
      for (const item of route.received.filter((r) => r.event === "patchUi")) {
        expect((item.payload as { patch: unknown[] }).patch.length).toBeGreaterThan(0);
      }
    }
  });

  it("answers 100 rapid runs and every client ends on the same document", async () => {
    const { app, server } = await startHarness(slowApp());
    const caller = await openRoute(connectPhoenix(server), "/slow");
    const watcher = await openRoute(connectPhoenix(server), "/slow");
    const code = caller.code("bump");
    const replies = await Promise.all(
      Array.from({ length: 100 }, (_, i) => caller.run(code, { i }, 10_000)),
    );
    expect(replies.every((reply) => reply.status === "ok")).toBe(true);
    expect(app.state.n).toBe(100);
    expect((caller.document as State).n).toBe(100);
    await waitFor(() => (watcher.document as State).n === 100, 15_000, "the watcher");
    expect(watcher.document).toEqual(caller.document);
    expect([...(caller.document as State).log].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 100 }, (_, i) => i),
    );
  });
});
