import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startDevServer } from "../src/index.ts";
import {
  counterAppDir,
  guest,
  open,
  socketEndpoint,
  testUser,
  uniqueUser,
  until,
  upgradeStatus,
} from "./dev-server-support.ts";
import { joinChannel, type LiveRoute, onCleanup, RawClient, waitFor } from "./helpers.ts";

interface CounterDocument {
  value: number;
  onIncrement: { _type: string; code: string };
  onDecrement: { _type: string; code: string };
}

interface TodoDocument {
  id: string;
  title: string;
  done: boolean;
  onToggle: { _type: string; code: string };
  onRemove: { _type: string; code: string };
}

interface TodosDocument {
  items: TodoDocument[];
  remaining: number;
  onAdd: { _type: string; code: string };
}

const LISTENER = { _type: "listener", code: expect.any(String) };

let server: DevServer;

beforeAll(async () => {
  // One app process for the whole file; tests use their own users to stay independent.
  server = await startDevServer({
    app: counterAppDir,
    port: 0,
    authPort: 0,
    insecureTestTokens: true,
  });
});

afterAll(async () => {
  await server?.close();
});

function globalCount(): number {
  return server.store.find("counter", { query: { user: "global" } })[0]?.count as number;
}

describe("the counter app on the dev server", () => {
  it("gives a guest /counter/global with its value and encoded listeners", async () => {
    const route = await open(guest(server), "/counter/global");
    const document = route.document as CounterDocument;
    expect(document).toEqual({
      value: globalCount(),
      onIncrement: LISTENER,
      onDecrement: LISTENER,
    });
    expect(document.onIncrement.code).not.toBe(document.onDecrement.code);
    // The client never learns what a code stands for.
    expect(JSON.stringify(document)).not.toMatch(/increment|"props"|"name"/);
  });

  it("increments on run: the caller has the patch before the reply, every other session gets it", async () => {
    const caller = await open(guest(server), "/counter/global");
    const otherGuest = await open(guest(server), "/counter/global");
    const aUser = await open(testUser(server, uniqueUser()), "/counter/global");
    const before = (caller.document as CounterDocument).value;

    const reply = await caller.run(caller.code("onIncrement"));
    expect(reply).toEqual({ status: "ok", response: {} });
    expect((caller.document as CounterDocument).value).toBe(before + 1);
    for (const route of [otherGuest, aUser]) {
      await until<CounterDocument>(route, (document) => document.value === before + 1);
      expect(route.received.at(-1)).toEqual({
        event: "patchUi",
        payload: { patch: [{ op: "replace", path: "/value", value: before + 1 }] },
      });
    }
    expect(globalCount()).toBe(before + 1);

    await caller.run(caller.code("onDecrement"));
    expect((caller.document as CounterDocument).value).toBe(before);
    await until<CounterDocument>(aUser, (document) => document.value === before);
  });

  it("shares one render between sessions that show the same view", async () => {
    const routes: LiveRoute[] = await Promise.all([
      ...Array.from({ length: 10 }, () => open(guest(server), "/counter/global")),
      open(testUser(server, uniqueUser()), "/counter/global"),
    ]);
    const before = server.stats();
    const expected = globalCount() + 1;
    await routes[0]?.run(routes[0].code("onIncrement"));
    for (const route of routes) {
      await until<CounterDocument>(route, (document) => document.value === expected);
    }
    // The guests form one render group; the user's group shows the same view (no context
    // projection, no "@me"), so it shares that group's app render.
    const after = server.stats();
    expect(after.viewRenders - before.viewRenders).toBe(1);
    expect(after.sharedRenders - before.sharedRenders).toBe(1);
    expect(after.renderGroups).toBeLessThanOrEqual(after.openRoutes - 9);
  });

  it("refuses a guest the user routes, like Lenra, and lists only the guest routes", async () => {
    const socket = guest(server);
    for (const path of ["/counter/me", "/todos", "/todos/abc", "/nowhere"]) {
      const reply = await joinChannel(socket.channel(`route:${path}`, { mode: "json" }));
      expect(reply).toEqual({
        status: "error",
        response: {
          message: "The given route does not exist. Please check your manifest.",
          reason: "route_does_not_exist",
          metadata: path,
          status_code: 400,
        },
      });
    }
    const routes = await joinChannel(socket.channel("routes", { mode: "json" }));
    expect(routes.status).toBe("ok");
    expect(routes.response).toEqual({
      jsonRoutes: [
        {
          path: "/counter/global",
          roles: ["guest", "user"],
          view: {
            _type: "view",
            name: "counter",
            find: { coll: "counter", query: { user: "global" } },
          },
        },
      ],
    });
    const userRoutes = await joinChannel(
      testUser(server, uniqueUser()).channel("routes", { mode: "json" }),
    );
    expect(
      (userRoutes.response as { jsonRoutes: { path: string }[] }).jsonRoutes.map(
        (route) => route.path,
      ),
    ).toEqual(["/counter/global", "/counter/me", "/todos", "/todos/:id"]);
  });

  it("gives a user their own counter, created by onUserFirstJoin", async () => {
    const alice = uniqueUser("alice");
    const bob = uniqueUser("bob");
    const aliceRoute = await open(testUser(server, alice), "/counter/me");
    expect(aliceRoute.document).toEqual({ value: 0, onIncrement: LISTENER, onDecrement: LISTENER });
    expect(server.store.find("counter", { query: { user: alice } })).toEqual([
      { _id: expect.any(String), user: alice, count: 0 },
    ]);

    const globalBefore = globalCount();
    await aliceRoute.run(aliceRoute.code("onIncrement"));
    await aliceRoute.run(aliceRoute.code("onIncrement"));
    expect((aliceRoute.document as CounterDocument).value).toBe(2);

    const bobRoute = await open(testUser(server, bob), "/counter/me");
    expect((bobRoute.document as CounterDocument).value).toBe(0);
    expect(bobRoute.code("onIncrement")).not.toBe(aliceRoute.code("onIncrement"));
    expect(globalCount()).toBe(globalBefore);
    // A second session of the same user finds the counter: the listener ran once.
    const again = await open(testUser(server, alice), "/counter/me");
    expect((again.document as CounterDocument).value).toBe(2);
    expect(server.store.find("counter", { query: { user: alice } })).toHaveLength(1);
    expect(server.store.getPlatformValue("knownUsers")).toEqual(
      expect.arrayContaining([alice, bob]),
    );
  });

  it("runs only codes the session was sent", async () => {
    const alice = await open(testUser(server, uniqueUser("alice")), "/counter/me");
    const bob = await open(testUser(server, uniqueUser("bob")), "/counter/me");
    // Bob's session was never sent Alice's code (its props name her counter).
    const code = alice.code("onIncrement");
    const reply = await bob.run(code);
    const error = {
      message: "No listeners found for the given code",
      reason: "unknow_listener_code",
      metadata: code,
    };
    expect(reply).toEqual({
      status: "error",
      response: { error: { ...error, status_code: 400 } },
    });
    expect(bob.errors).toEqual([error]);
    expect((alice.document as CounterDocument).value).toBe(0);
  });

  it("renders nested views in place and follows route params", async () => {
    const user = uniqueUser();
    const socket = testUser(server, user);
    const list = await open(socket, "/todos");
    expect(list.document).toEqual({ items: [], remaining: 0, onAdd: LISTENER });

    expect(await list.run(list.code("onAdd"), { value: " Buy milk " })).toMatchObject({
      status: "ok",
    });
    expect(await list.run(list.code("onAdd"), { value: "Write tests" })).toMatchObject({
      status: "ok",
    });
    const todos = list.document as TodosDocument;
    expect(todos).toEqual({
      items: [
        {
          id: expect.any(String),
          title: "Buy milk",
          done: false,
          onToggle: LISTENER,
          onRemove: LISTENER,
        },
        {
          id: expect.any(String),
          title: "Write tests",
          done: false,
          onToggle: LISTENER,
          onRemove: LISTENER,
        },
      ],
      remaining: 2,
      onAdd: LISTENER,
    });
    expect(JSON.stringify(todos)).not.toContain('"_type":"view"');

    const [first] = todos.items as [TodoDocument];
    const item = await open(socket, `/todos/${first.id}`);
    expect(item.document).toEqual(first);

    await item.run(item.code("onToggle"));
    expect((item.document as TodoDocument).done).toBe(true);
    const afterToggle = await until<TodosDocument>(list, (document) => document.remaining === 1);
    expect(afterToggle.items[0]?.done).toBe(true);

    // Someone else's todo does not render for another user: the view fails on its first
    // render, so the join is refused with Lenra's error 500, not a crash.
    const stranger = testUser(server, uniqueUser());
    const strangerItem = stranger.channel(`route:/todos/${first.id}`, { mode: "json" });
    expect(await joinChannel(strangerItem)).toEqual({
      status: "error",
      response: {
        message: "Internal server error.",
        reason: "error_500",
        metadata: "Todo not found",
        status_code: 500,
      },
    });

    await item.run(item.code("onRemove"));
    const afterRemove = await until<TodosDocument>(list, (document) => document.items.length === 1);
    expect(afterRemove.items[0]?.title).toBe("Write tests");
    await waitFor(() => item.errors.length > 0, 15_000, "the removed todo's view error");
  });

  it("answers a listener that throws with an error reply and an error event", async () => {
    const list = await open(testUser(server, uniqueUser()), "/todos");
    const reply = await list.run(list.code("onAdd"), { value: "   " });
    const error = {
      message: "Internal server error.",
      reason: "error_500",
      metadata: "A todo needs a title",
    };
    expect(reply).toEqual({ status: "error", response: { error: { ...error, status_code: 500 } } });
    expect(list.errors).toEqual([error]);
    expect(list.document).toEqual({ items: [], remaining: 0, onAdd: LISTENER });
  });

  it("leaves data and views unchanged when a transaction is aborted", async () => {
    const route = await open(guest(server), "/counter/global");
    const before = globalCount();
    const counter = server.store.find("counter", { query: { user: "global" } })[0];
    const token = server.store.startTransaction();
    const call = (method: string, path: string, body?: unknown) =>
      fetch(`${server.url}/app-api/v1/data${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    // A document write: Lenra runs those (not updateMany) inside the transaction.
    const update = await call("PUT", `/colls/counter/docs/${counter?._id}`, {
      ...counter,
      count: before + 100,
    });
    expect(update.status).toBe(200);
    expect(globalCount()).toBe(before);
    expect((await call("POST", "/transaction/abort")).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(globalCount()).toBe(before);
    expect(route.count("patchUi")).toBe(0);
    expect((route.document as CounterDocument).value).toBe(before);
  });

  it("answers bad input with errors and keeps serving the other sessions", async () => {
    const bystander = await open(guest(server), "/counter/global");
    const raw = new RawClient(socketEndpoint(server.socketUrl));
    await raw.opened;

    const unknownTopic = await raw.request("1", "nowhere:at-all", "phx_join", {});
    expect(unknownTopic[4]).toEqual({ status: "error", response: { reason: "unmatched topic" } });

    const join = await raw.request("2", "route:/counter/global", "phx_join", { mode: "json" });
    expect(join[4]).toEqual({ status: "ok", response: {} });
    const ui = await raw.next((frame) => frame[3] === "ui");
    const code = (ui[4] as unknown as CounterDocument).onIncrement.code;

    const unknownCode = await raw.request("2", "route:/counter/global", "run", { code: "nope" });
    expect(unknownCode[4]).toEqual({
      status: "error",
      response: {
        error: {
          message: "No listeners found for the given code",
          reason: "unknow_listener_code",
          metadata: "nope",
          status_code: 400,
        },
      },
    });

    // A frame of the wrong shape is answered when it has a ref.
    raw.send(["2", "r-bad", "route:/counter/global", 42, {}]);
    const malformed = await raw.next((frame) => frame[1] === "r-bad");
    expect(malformed[4]).toEqual({ status: "error", response: { reason: "malformed message" } });

    // A big event reaches the app, which refuses it (HTTP 413): an error reply, nothing else,
    // with the reason Lenra gives a status it does not expect.
    const big = await raw.request("2", "route:/counter/global", "run", {
      code,
      event: { value: "x".repeat(300_000) },
    });
    expect(big[4]).toMatchObject({
      status: "error",
      response: { error: { message: "Unknown error", reason: "unknown_error" } },
    });

    // A run without a code crashes that channel only, as a Phoenix channel process would.
    raw.send(["2", "r-crash", "route:/counter/global", "run", { nope: true }]);
    await raw.next((frame) => frame[3] === "phx_error");

    // A frame over the limit closes that socket (1009), and only it.
    const huge = new RawClient(socketEndpoint(server.socketUrl));
    await huge.opened;
    huge.send(["1", "1", "route:/counter/global", "run", { code, event: "y".repeat(1_100_000) }]);
    expect((await huge.closed).code).toBe(1009);

    // Text that is not a Phoenix frame at all closes that socket as Phoenix would (1011).
    const garbage = new RawClient(socketEndpoint(server.socketUrl));
    await garbage.opened;
    garbage.send("this is not json");
    expect((await garbage.closed).code).toBe(1011);

    const before = (bystander.document as CounterDocument).value;
    expect(await bystander.run(bystander.code("onIncrement"))).toMatchObject({ status: "ok" });
    expect((bystander.document as CounterDocument).value).toBe(before + 1);
    onCleanup(() => raw.ws.close());
  });

  it("refuses a token it does not know with HTTP 403 on the upgrade", async () => {
    for (const token of ["not-a-token", "user:"]) {
      expect(await upgradeStatus(socketEndpoint(server.socketUrl, { token }))).toBe(403);
    }
    expect(await upgradeStatus(socketEndpoint(server.socketUrl))).toBe(101);
  });
});
