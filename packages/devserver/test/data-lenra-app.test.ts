import { Api, Data } from "@lenra/app";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type DataApiServer, startDataApi } from "./data-support.ts";

class Counter extends Data {
  user: string;
  count: number;
  constructor(user = "", count = 0) {
    super();
    this.user = user;
    this.count = count;
  }
}

let server: DataApiServer;
let lenra: Api;

beforeEach(async () => {
  server = await startDataApi();
  // The official client of @lenra/app, exactly as a listener receives it.
  lenra = new Api({ url: server.url, token: "alice" });
});

afterEach(async () => {
  await server.close();
});

describe("the data API driven by @lenra/app's own Api client", () => {
  it("serves every typed collection call", async () => {
    const counters = lenra.data.coll(Counter);
    const created = await counters.createDoc(new Counter("@me", 0));
    expect(created).toBeInstanceOf(Counter);
    expect(created).toMatchObject({
      _id: expect.stringMatching(/^[0-9a-f]{24}$/),
      user: "user-alice",
      count: 0,
    });
    // The collection name is the class name in lower case.
    expect(server.store.listDocs("counter")).toEqual([{ ...created }]);

    await counters.insertMany([new Counter("global", 10), new Counter("other", 20)]);
    await counters.updateMany({ user: { $in: ["@me", "global"] } }, { $inc: { count: 1 } });

    const found = await counters.find(
      { count: { $gte: 1 } },
      { user: 1, count: 1 },
      { sort: { count: -1 }, limit: 2 },
    );
    expect(found.map((counter) => [counter.user, counter.count])).toEqual([
      ["other", 20],
      ["global", 11],
    ]);
    expect(found[0]).toBeInstanceOf(Counter);

    const mine = await counters.getDoc(created._id);
    expect(mine).toMatchObject({ _id: created._id, user: "user-alice", count: 1 });

    mine.count = 42;
    const updated = await counters.updateDoc(mine);
    expect(updated).toMatchObject({ _id: created._id, count: 42 });
    expect(server.store.getDoc("counter", created._id)).toMatchObject({ count: 42 });

    await counters.deleteDoc(updated);
    expect(server.store.getDoc("counter", created._id)).toBeUndefined();
    expect(await counters.find({ user: "@me" })).toEqual([]);
  });

  it("serves untyped collections", async () => {
    const notes = lenra.data.coll("notes");
    const note = (await notes.createDoc({ text: "hello", by: "@me" })) as { _id: string };
    expect(note).toEqual({ _id: expect.any(String), text: "hello", by: "user-alice" });
    expect(await notes.insertMany([{ text: "a" }, { text: "b" }])).toEqual({
      insertedIds: [expect.any(String), expect.any(String)],
    });
    expect(await notes.find({ text: { $in: ["a", "b"] } }, { _id: 0 })).toEqual([
      { text: "a" },
      { text: "b" },
    ]);
    expect(await notes.getDoc(note._id)).toEqual(note);
    // Lenra answers a delete with {}, and a missing document with null.
    expect(await notes.deleteDoc(note._id)).toEqual({});
    expect(await notes.getDoc(note._id)).toBeNull();
  });

  it("runs a transaction through the client's Transaction class", async () => {
    const counters = lenra.data.coll(Counter);
    const counter = await counters.createDoc(new Counter("@me", 1));

    const committed = await lenra.data.startTransaction();
    expect(typeof committed.token).toBe("string");
    const inside = await committed.coll(Counter).createDoc(new Counter("@me", 100));
    expect(inside.user).toBe("user-alice");
    await committed.coll(Counter).updateDoc({ ...counter, count: 2 });
    // As on Lenra, reads through the transaction see the committed data, not its writes.
    expect((await committed.coll(Counter).getDoc(counter._id)).count).toBe(1);
    expect(await committed.coll(Counter).find({ count: 100 })).toEqual([]);
    expect(await counters.find({ count: 100 })).toEqual([]);
    await committed.commit();
    expect((await counters.getDoc(counter._id)).count).toBe(2);
    expect((await counters.find({ count: 100 })).map((found) => found._id)).toEqual([inside._id]);

    const aborted = await lenra.data.startTransaction();
    // updateMany runs outside the transaction: the abort does not undo it.
    await aborted.coll(Counter).updateMany({ count: 100 }, { $set: { count: 101 } });
    await aborted.coll(Counter).deleteDoc(counter);
    await aborted.abort();
    expect((await counters.find({})).map((found) => found.count)).toEqual([2, 101]);
  });

  it("gives the client nothing with a forged token", async () => {
    const forged = new Api({ url: server.url, token: "forged" });
    expect(await forged.data.coll("notes").createDoc({ text: "x" })).toBeUndefined();
    expect(server.store.collectionNames()).toEqual([]);
  });
});
