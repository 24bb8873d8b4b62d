import { mkdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { insecureTestToken } from "../src/testing.ts";
import { type FakeApp, GUEST, SYSTEM_LISTENERS, start } from "./fake-app.ts";
import { connectPhoenix, openRoute, waitFor } from "./helpers.ts";

type Listener = { _type: "listener"; code: string };

/** Counters per user, a global one, a page without a find, and a list of nested item views. */
function app(): FakeApp {
  return {
    routes: [
      {
        path: "/counter/me",
        view: { _type: "view", name: "counter", find: { coll: "counter", query: { user: "@me" } } },
      },
      {
        path: "/counter/global",
        view: {
          _type: "view",
          name: "counter",
          find: { coll: "counter", query: { user: "global" } },
        },
        roles: ["guest", "user"],
      },
      { path: "/about", view: { _type: "view", name: "about" }, roles: ["guest", "user"] },
      {
        path: "/todos",
        view: { _type: "view", name: "todos", find: { coll: "todos", query: { user: "@me" } } },
      },
    ],
    views: {
      counter: (data) => {
        const doc = data[0] as { _id: string; count: number } | undefined;
        return {
          value: doc?.count ?? 0,
          // Props that change with the value: each render sends new codes.
          onSet: { _type: "listener", name: "set", props: { from: doc?.count ?? 0 } },
        };
      },
      about: (data) => ({ read: data.length }),
      todos: (data) => ({
        items: data.map((doc) => ({
          _type: "view",
          name: "todo",
          find: { coll: "todos", query: { _id: (doc as { _id: string })._id } },
        })),
      }),
      todo: (data) => {
        const doc = data[0] as { _id: string; title: string };
        return {
          _id: doc._id,
          title: doc.title,
          onRename: { _type: "listener", name: "rename", props: { id: doc._id } },
        };
      },
    },
    listeners: {
      ...SYSTEM_LISTENERS,
      set: (props, _event, { store }) => {
        store.updateMany(
          "counter",
          { user: "global" },
          { $set: { count: (props.from as number) + 1 } },
        );
      },
    },
  };
}

describe("live updates", () => {
  it("re-renders only the views whose find can see a changed document, before or after the change", async () => {
    const { server, store, renders, settled } = await start(app());
    const ids = {
      alice: store.createDoc("counter", { user: "alice", count: 0 })._id,
      bob: store.createDoc("counter", { user: "bob", count: 0 })._id,
      global: store.createDoc("counter", { user: "global", count: 0 })._id,
    };
    const alice = await openRoute(
      connectPhoenix(server, { token: insecureTestToken("alice") }),
      "/counter/me",
    );
    const bob = await openRoute(
      connectPhoenix(server, { token: insecureTestToken("bob") }),
      "/counter/me",
    );
    const global = await openRoute(connectPhoenix(server, GUEST), "/counter/global");
    const about = await openRoute(connectPhoenix(server, GUEST), "/about");
    expect(renders.sort()).toEqual(["about", "counter", "counter", "counter"]);

    // Alice's counter changes: only her view is asked again.
    renders.length = 0;
    store.updateMany("counter", { _id: ids.alice }, { $inc: { count: 1 } });
    await waitFor(() => (alice.document as { value: number }).value === 1);
    await settled();
    expect(renders).toEqual(["counter"]);
    expect([bob.count("patchUi"), global.count("patchUi"), about.count("patchUi")]).toEqual([
      0, 0, 0,
    ]);

    // A document that leaves a view's find (it matched before the change) re-renders it, and
    // one that enters another's (it matches after) re-renders that one.
    renders.length = 0;
    store.updateMany("counter", { _id: ids.bob }, { $set: { user: "carol" } });
    await waitFor(() => (bob.document as { value: number }).value === 0 && renders.length === 1);
    store.replaceDoc("counter", ids.bob, { user: "bob", count: 5 });
    await waitFor(() => (bob.document as { value: number }).value === 5);
    await settled();
    expect(renders).toEqual(["counter", "counter"]);

    // Documents no find can see, created, changed or deleted: nothing renders.
    renders.length = 0;
    const stray = store.createDoc("counter", { user: "nobody", count: 1 });
    store.updateMany("counter", { _id: stray._id }, { $inc: { count: 1 } });
    store.deleteDoc("counter", stray._id);
    store.createDoc("other", { user: "alice" });
    await settled();
    expect(renders).toEqual([]);

    // A view without a find is never rendered again by a data change, as on Lenra.
    store.deleteDoc("counter", ids.global);
    await waitFor(() => (global.document as { value: number }).value === 0 && renders.length === 1);
    await settled();
    expect(renders).toEqual(["counter"]);
    expect(about.count("patchUi")).toBe(0);
  });

  it("renders again every view of a collection a bulk change touches, without testing each document", async () => {
    const { server, store, renders, settled } = await start(app());
    store.createDoc("counter", { user: "global", count: 0 });
    const global = await openRoute(connectPhoenix(server, GUEST), "/counter/global");
    renders.length = 0;
    // Hundreds of documents no find can see, in one write: the counter view is asked again.
    store.insertMany(
      "counter",
      Array.from({ length: 300 }, (_, i) => ({ user: `bulk-${i}`, count: i })),
    );
    await settled();
    expect(renders).toEqual(["counter"]);
    expect(global.count("patchUi")).toBe(0);
  });

  it("renders again only the nested view whose document changed, and patches one value", async () => {
    const { server, store, renders, settled } = await start(app());
    const ids = Array.from(
      { length: 50 },
      (_, i) => store.createDoc("todos", { user: "alice", title: `Todo ${i}` })._id,
    );
    store.createDoc("todos", { user: "bob", title: "Not alice's" });
    const todos = await openRoute(
      connectPhoenix(server, { token: insecureTestToken("alice") }),
      "/todos",
    );
    expect((todos.document as { items: unknown[] }).items).toHaveLength(50);
    expect(renders.filter((view) => view === "todo")).toHaveLength(50);

    renders.length = 0;
    store.updateMany("todos", { _id: ids[20] }, { $set: { title: "Renamed" } });
    await waitFor(() => todos.count("patchUi") === 1);
    // The list (its find sees the document) and that one item: not the 49 others.
    expect(renders.sort()).toEqual(["todo", "todos"]);
    expect(todos.received.at(-1)?.payload).toEqual({
      patch: [{ op: "replace", path: "/items/20/title", value: "Renamed" }],
    });

    // An insert and a removal are one operation each.
    renders.length = 0;
    const seen = todos.received.length;
    const added = store.createDoc("todos", { user: "alice", title: "New" })._id;
    store.deleteDoc("todos", ids[3] as string);
    const shown = () => (todos.document as { items: { _id: string }[] }).items.map((i) => i._id);
    await waitFor(() => shown().includes(added) && !shown().includes(ids[3] as string));
    await settled();
    const patches = todos.received.slice(seen).filter((r) => r.event === "patchUi");
    const operations = patches.flatMap((p) => (p.payload as { patch: { op: string }[] }).patch);
    expect(operations.map((o) => o.op).sort()).toEqual(["add", "remove"]);
    expect((todos.document as { items: { _id: string }[] }).items.map((item) => item._id)).toEqual([
      ...ids.filter((id) => id !== ids[3]),
      added,
    ]);
    // Bob's todo never rendered.
    expect(renders.filter((view) => view === "todo")).toHaveLength(1);
  });

  it("accepts the codes of what a session shows (its last two documents), and no older ones", async () => {
    const { server, store, renders, settled } = await start(app());
    store.createDoc("counter", { user: "global", count: 0 });
    const route = await openRoute(connectPhoenix(server, GUEST), "/counter/global");
    const codes = [(route.document as { onSet: Listener }).onSet.code];
    // Each run sets the counter to its props + 1 and so changes the listener's props and code.
    for (let i = 1; i <= 3; i++) {
      expect((await route.run(codes.at(-1) as string)).status).toBe("ok");
      expect((route.document as { value: number }).value).toBe(i);
      codes.push((route.document as { onSet: Listener }).onSet.code);
    }
    expect(new Set(codes).size).toBe(4);
    // A change the view does not show renders it again, the same: nothing moves on.
    renders.length = 0;
    store.updateMany("counter", { user: "global" }, { $set: { note: "unseen" } });
    await settled();
    expect(renders).toEqual(["counter"]);
    // The document before the last one: a click the client made before the patch arrived.
    expect((await route.run(codes[2] as string)).status).toBe("ok");
    expect((route.document as { value: number }).value).toBe(3);
    // Two documents older than what the session was last sent: refused, as a code never sent.
    const refused = await route.run(codes[0] as string);
    expect(refused).toMatchObject({
      status: "error",
      response: { error: { reason: "unknow_listener_code", metadata: codes[0] } },
    });
  });

  it("answers a call only once its writes are saved, with data_not_saved when they cannot be", async () => {
    const errors: string[] = [];
    // A data file in a folder that does not exist: every save fails.
    const file = join(tmpdir(), `missing-${process.pid}-${Date.now()}`, "data.json");
    const { server, store } = await start(
      app(),
      { error: (message) => errors.push(message) },
      file,
    );
    store.createDoc("counter", { user: "global", count: 0 });
    const route = await openRoute(connectPhoenix(server, GUEST), "/counter/global");
    const reply = await route.run((route.document as { onSet: Listener }).onSet.code);
    expect(reply).toEqual({
      status: "error",
      response: {
        error: {
          message:
            "The listener ran, but the data file could not be written (ENOENT): its changes may be lost when the dev server stops. Check the disk and the file's permissions.",
          reason: "data_not_saved",
          status_code: 500,
        },
      },
    });
    // The change itself was made, and shown before the reply; the log says what failed.
    expect((route.document as { value: number }).value).toBe(1);
    expect(errors).toContain('The data file could not be written after "set" ran');
    // Once the file can be written, calls are answered ok again, with everything saved.
    await mkdir(dirname(file));
    expect((await route.run((route.document as { onSet: Listener }).onSet.code)).status).toBe("ok");
    const saved = JSON.parse(await readFile(file, "utf8"));
    expect(saved.collections.counter).toMatchObject([{ user: "global", count: 2 }]);
    await rm(dirname(file), { recursive: true });
  });

  it("keeps what a session holds for its codes bounded by what it shows", async () => {
    const { server, store, backend } = await start(app());
    const id = store.createDoc("counter", { user: "global", count: 0 })._id;
    const route = await openRoute(connectPhoenix(server, GUEST), "/counter/global");
    for (let i = 1; i <= 40; i++) {
      store.updateMany("counter", { _id: id }, { $set: { count: i } });
      await waitFor(() => (route.document as { value: number }).value === i);
    }
    // One listener per document, and the session accepts those of its last two documents.
    expect(backend.stats().listenerCodes).toBe(2);
  });
});
