import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { until } from "../dev-server-support.ts";
import type { LiveRoute } from "../helpers.ts";
import {
  type Compat,
  guestSocket,
  open,
  probe,
  startCompat,
  uniqueUser,
  userSocket,
} from "./support.ts";

const OBJECT_ID = /^[0-9a-f]{24}$/;

let compat: Compat;
let user: string;
let route: LiveRoute;

beforeAll(async () => {
  compat = await startCompat();
});

afterAll(() => compat?.close());

beforeEach(async () => {
  user = uniqueUser();
  route = await open(userSocket(compat, user), "/listeners");
});

describe("documents", () => {
  it("a missing document: GET answers null, PUT what it was sent under the path's id without storing it, DELETE {}", async () => {
    const missing = "65a1b2c3d4e5f60718293a4b";
    const path = `/colls/ghosts/docs/${missing}`;
    const answers = await probe(compat, route, [
      { method: "GET", path },
      { method: "PUT", path, body: { _id: "other", name: "@me" } },
      { method: "DELETE", path },
    ]);
    expect(answers).toEqual([
      { status: 200, body: null },
      { status: 200, body: { _id: missing, name: user } },
      { status: 200, body: {} },
    ]);
    expect(compat.server.store.listDocs("ghosts")).toEqual([]);
  });

  it("a create drops the client's _id and makes an ObjectId; insertMany too", async () => {
    const [created, inserted] = await probe(compat, route, [
      { method: "POST", path: "/colls/made/docs", body: { _id: "mine", n: 1 } },
      { method: "POST", path: "/colls/made/insertMany", body: { documents: [{ _id: "x" }] } },
    ]);
    const doc = created?.body as { _id: string };
    expect(doc).toEqual({ _id: expect.stringMatching(OBJECT_ID), n: 1 });
    expect(inserted?.body).toEqual({ insertedIds: [expect.stringMatching(OBJECT_ID)] });
    const existing = compat.server.store.getDoc("made", doc._id);
    expect(existing).toEqual(doc);
    expect(compat.server.store.getDoc("made", "mine")).toBeUndefined();
  });

  it("a path id must be an ObjectId; Lenra's ObjectId(<hex>) form names the same document", async () => {
    const stored = compat.server.store.createDoc("ids", { n: 1 });
    const [bad, lenraForm, query] = await probe(compat, route, [
      { method: "GET", path: "/colls/ids/docs/not-an-id" },
      { method: "GET", path: `/colls/ids/docs/ObjectId(${stored._id})` },
      {
        method: "POST",
        path: "/colls/ids/find",
        body: { query: { _id: `ObjectId(${stored._id})` } },
      },
    ]);
    expect(bad).toEqual({
      status: 400,
      body: {
        message: expect.stringContaining("not a valid object id"),
        reason: "not_an_object_id",
      },
    });
    expect(lenraForm).toEqual({ status: 200, body: stored });
    expect(query).toEqual({ status: 200, body: [stored] });
  });
});

describe("placeholders", () => {
  it('"@me" is null for a guest, never a refusal, in documents, queries and views', async () => {
    const guest = await open(guestSocket(compat), "/listeners");
    const [created, found] = await probe(compat, guest, [
      { method: "POST", path: "/colls/guestbook/docs", body: { owner: "@me" } },
      { method: "POST", path: "/colls/guestbook/find", body: { query: { owner: "@me" } } },
    ]);
    expect(created).toEqual({
      status: 200,
      body: { _id: expect.stringMatching(OBJECT_ID), owner: null },
    });
    expect(found?.status).toBe(200);

    const notes = await open(guestSocket(compat), "/notes");
    expect(await notes.run(notes.code("onAdd"), { text: "hello" })).toEqual({
      status: "ok",
      response: {},
    });
    await until<{ notes: unknown[] }>(notes, (document) => document.notes.length > 0);
    expect((notes.document as { notes: unknown[] }).notes).toContainEqual({
      text: "hello",
      owner: null,
    });
  });

  it("other references are null in the data API (listeners have no route); other @-strings stay", async () => {
    const logged = compat.logs.length;
    const [created] = await probe(compat, route, [
      {
        method: "POST",
        path: "/colls/refs/docs",
        body: {
          me: "@me",
          route: "@route.id",
          roles: "@roles",
          bang: "@me!",
          mail: "a@b",
          at: "@",
        },
      },
    ]);
    expect(created?.body).toEqual({
      _id: expect.any(String),
      me: user,
      route: null,
      roles: null,
      bang: "@me!",
      mail: "a@b",
      at: "@",
    });
    expect(compat.logs.slice(logged).map((line) => line.message)).toEqual(
      expect.arrayContaining([
        'The data API replaced "@route.id" by null: as on Lenra, listeners have only "@me" (no route, no roles).',
      ]),
    );
  });

  it("updateMany replaces references in its filter, not in its update, and answers the update", async () => {
    compat.server.store.insertMany("scores", [{ owner: user, points: 1 }, { owner: "else" }]);
    const update = { $inc: { points: 1 }, $set: { by: "@me" } };
    const [answer] = await probe(compat, route, [
      {
        method: "POST",
        path: "/colls/scores/updateMany",
        body: { filter: { owner: "@me" }, update },
      },
    ]);
    expect(answer).toEqual({ status: 200, body: update });
    expect(compat.server.store.find("scores", { query: { owner: user } })).toEqual([
      { _id: expect.any(String), owner: user, points: 2, by: "@me" },
    ]);
    expect(compat.logs.map((line) => line.message)).toContain(
      'An updateMany update holds "@me": Lenra replaces references in the filter only, so it stores the text "@me". The dev server does the same.',
    );
  });
});

describe("transactions", () => {
  function seedLedger(): void {
    for (const doc of compat.server.store.listDocs("ledger")) {
      compat.server.store.deleteDoc("ledger", doc._id);
    }
    compat.server.store.insertMany("ledger", [
      { label: "seed" },
      { label: "doomed" },
      { label: "untouched" },
    ]);
  }

  const labels = () =>
    compat.server.store
      .listDocs("ledger")
      .map((doc) => doc.label)
      .sort();

  it("hold creates, insertMany, PUT and DELETE until commit; finds and updateMany ignore them (@lenra/app's Transaction)", async () => {
    seedLedger();
    const ledger = await open(guestSocket(compat), "/ledger");
    expect(await route.run(route.code("transaction"), { abort: false })).toMatchObject({
      status: "ok",
    });
    // Read inside the transaction: the committed data, with updateMany's change already in.
    expect(compat.server.store.find("seen", { query: {} }).at(-1)?.labels).toEqual([
      "doomed",
      "seed",
      "updated",
    ]);
    expect(labels()).toEqual(["created", "inserted", "replaced", "updated"]);
    await until<{ labels: string[] }>(ledger, (document) => document.labels.length === 4);
  });

  it("an abort drops the document writes; updateMany's change stays", async () => {
    seedLedger();
    expect(await route.run(route.code("transaction"), { abort: true })).toMatchObject({
      status: "ok",
    });
    expect(labels()).toEqual(["doomed", "seed", "updated"]);
  });
});
