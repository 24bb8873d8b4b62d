import { request } from "node:http";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type DataApiServer, startDataApi } from "./data-support.ts";

let api: DataApiServer;

beforeEach(async () => {
  api = await startDataApi();
});

afterEach(async () => {
  await api.close();
});

/** An id as the dev server makes them (24 hex digits), for documents seeded through the store. */
function id(n: number): string {
  return n.toString(16).padStart(24, "0");
}

describe("documents", () => {
  it("creates, reads, replaces, lists and deletes a document", async () => {
    const created = await api.call("POST", "/colls/books/docs", { title: "Dune", year: 1965 });
    expect(created.status).toBe(200);
    expect(created.body).toEqual({
      _id: expect.stringMatching(/^[0-9a-f]{24}$/),
      title: "Dune",
      year: 1965,
    });
    const docId = created.body._id;

    expect((await api.call("GET", `/colls/books/docs/${docId}`)).body).toEqual(created.body);

    const replaced = await api.call("PUT", `/colls/books/docs/${docId}`, {
      _id: docId,
      title: "Dune",
      year: 1966,
    });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toEqual({ _id: docId, title: "Dune", year: 1966 });

    expect((await api.call("GET", "/colls/books/docs")).body).toEqual([replaced.body]);

    const deleted = await api.call("DELETE", `/colls/books/docs/${docId}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({});
    const gone = await api.call("GET", `/colls/books/docs/${docId}`);
    expect(gone.status).toBe(200);
    expect(gone.body).toBeNull();
    expect((await api.call("GET", "/colls/books/docs")).body).toEqual([]);
  });

  it("drops the _id a client sends and makes unique ids, in creation order", async () => {
    const created = await api.call("POST", "/colls/c/docs", { _id: "mine", n: 1 });
    expect(created.body).toEqual({ _id: expect.stringMatching(/^[0-9a-f]{24}$/), n: 1 });
    const again = await api.call("POST", "/colls/c/docs", { _id: created.body._id, n: 2 });
    expect(again.status).toBe(200);
    expect(again.body._id).not.toBe(created.body._id);
    const inserted = await api.call("POST", "/colls/c/insertMany", {
      documents: Array.from({ length: 50 }, (_, n) => ({ _id: "same", n })),
    });
    expect(inserted.status).toBe(200);
    expect(new Set(inserted.body.insertedIds).size).toBe(50);
    // Ids sort in creation order, like MongoDB ObjectIds.
    expect([...inserted.body.insertedIds].sort()).toEqual(inserted.body.insertedIds);
    expect(api.store.listDocs("c").some((doc) => doc._id === "mine" || doc._id === "same")).toBe(
      false,
    );
  });

  it("inserts many documents all or none", async () => {
    const refused = await api.call(
      "POST",
      "/colls/c/insertMany",
      '{"documents":[{"ok":1},{"constructor":{"x":1}}]}',
    );
    expect(refused.status).toBe(400);
    expect((await api.call("GET", "/colls/c/docs")).body).toEqual([]);
  });

  it("answers a missing document as Lenra does: GET null, PUT what was sent without storing it, DELETE {}", async () => {
    const missing = id(7);
    const get = await api.call("GET", `/colls/c/docs/${missing}`);
    expect([get.status, get.body]).toEqual([200, null]);
    const put = await api.call("PUT", `/colls/c/docs/${missing}`, { _id: "other", a: "@me" });
    expect([put.status, put.body]).toEqual([200, { _id: missing, a: "user-alice" }]);
    const del = await api.call("DELETE", `/colls/c/docs/${missing}`);
    expect([del.status, del.body]).toEqual([200, {}]);
    expect(api.store.listDocs("c")).toEqual([]);
  });

  it("takes the id from the path: a PUT's _id is ignored", async () => {
    api.store.createDoc("c", { _id: id(1), n: 1 });
    const response = await api.call("PUT", `/colls/c/docs/${id(1)}`, { _id: id(2), n: 2 });
    expect(response.body).toEqual({ _id: id(1), n: 2 });
    expect(api.store.listDocs("c")).toEqual([{ _id: id(1), n: 2 }]);
  });

  it("refuses a path id that is not an ObjectId and reads Lenra's ObjectId(<hex>) form", async () => {
    api.store.createDoc("c", { _id: id(10), n: 1 });
    for (const method of ["GET", "PUT", "DELETE"]) {
      const response = await api.call(
        method,
        "/colls/c/docs/nope",
        method === "PUT" ? {} : undefined,
      );
      expect(response.status, method).toBe(400);
      expect(response.body.reason).toBe("not_an_object_id");
    }
    const lenraForm = `ObjectId(${id(10).toUpperCase()})`;
    expect((await api.call("GET", `/colls/c/docs/${lenraForm}`)).body).toEqual({
      _id: id(10),
      n: 1,
    });
    const found = await api.call("POST", "/colls/c/find", {
      query: { _id: `ObjectId(${id(10)})` },
    });
    expect(found.body).toEqual([{ _id: id(10), n: 1 }]);
  });

  it("never lets a caller change stored data by reference", async () => {
    const doc = { _id: "a", nested: { list: [1] } };
    api.store.createDoc("c", doc);
    doc.nested.list.push(2);
    const read = api.store.getDoc("c", "a");
    expect(read).toEqual({ _id: "a", nested: { list: [1] } });
    (read as unknown as { nested: { list: number[] } }).nested.list.push(3);
    (api.store.find("c")[0] as unknown as { nested: { list: number[] } }).nested.list.push(4);
    expect(api.store.getDoc("c", "a")).toEqual({ _id: "a", nested: { list: [1] } });
  });
});

describe("find and updateMany", () => {
  beforeEach(() => {
    api.store.insertMany("books", [
      { _id: id(1), title: "Dune", year: 1965, tags: ["sf"], author: "Herbert" },
      { _id: id(2), title: "Emma", year: 1815, tags: ["novel"], author: "Austen" },
      { _id: id(3), title: "Ubik", year: 1969, tags: ["sf"], author: "Dick" },
      { _id: id(4), title: "Persuasion", year: 1817, tags: ["novel"], author: "Austen" },
    ]);
  });

  it("finds with a query, a projection, sort, skip and limit", async () => {
    const all = await api.call("POST", "/colls/books/find", { query: { tags: "sf" } });
    expect(all.body.map((doc: { _id: string }) => doc._id)).toEqual([id(1), id(3)]);

    const page = await api.call("POST", "/colls/books/find", {
      query: { year: { $gt: 1800 } },
      projection: { title: 1 },
      options: { sort: { year: -1 }, skip: 1, limit: 2 },
    });
    expect(page.body).toEqual([
      { _id: id(1), title: "Dune" },
      { _id: id(4), title: "Persuasion" },
    ]);

    const excluded = await api.call("POST", "/colls/books/find", {
      query: { _id: id(2) },
      projection: { tags: 0, author: 0 },
    });
    expect(excluded.body).toEqual([{ _id: id(2), title: "Emma", year: 1815 }]);

    const nullProjection = await api.call("POST", "/colls/books/find", {
      query: { $or: [{ _id: id(2) }, { year: 1969 }] },
      projection: null,
    });
    expect(nullProjection.body).toHaveLength(2);
  });

  it("answers 400 for a query mingo refuses", async () => {
    const response = await api.call("POST", "/colls/books/find", { query: { year: { $nope: 1 } } });
    expect(response.status).toBe(400);
    expect(response.body.reason).toBe("invalid_query");
    const where = await api.call("POST", "/colls/books/find", {
      query: { $where: "this.year > 0" },
    });
    expect(where.status).toBe(400);
    const badLimit = await api.call("POST", "/colls/books/find", {
      query: {},
      options: { limit: -1 },
    });
    expect(badLimit.status).toBe(400);
  });

  it("updates with $set, $inc, $push, $pull and $unset, and answers the update, as Lenra", async () => {
    const update = {
      $inc: { year: 1 },
      $push: { tags: "classic" },
      $set: { "meta.read": true },
      $unset: { author: "" },
    };
    const result = await api.call("POST", "/colls/books/updateMany", {
      filter: { author: "Austen" },
      update,
    });
    expect(result.status).toBe(200);
    expect(result.body).toEqual(update);
    expect((await api.call("GET", `/colls/books/docs/${id(2)}`)).body).toEqual({
      _id: id(2),
      title: "Emma",
      year: 1816,
      tags: ["novel", "classic"],
      meta: { read: true },
    });
    await api.call("POST", "/colls/books/updateMany", {
      filter: {},
      update: { $pull: { tags: "novel" } },
    });
    expect((await api.call("GET", `/colls/books/docs/${id(4)}`)).body.tags).toEqual(["classic"]);
    expect((await api.call("GET", `/colls/books/docs/${id(1)}`)).body.tags).toEqual(["sf"]);
  });

  it("refuses replacement documents, _id changes and unknown operators in updateMany", async () => {
    for (const update of [{ title: "x" }, { $set: { _id: "9" } }, { $frobnicate: { a: 1 } }, {}]) {
      const response = await api.call("POST", "/colls/books/updateMany", { filter: {}, update });
      expect(response.status, JSON.stringify(update)).toBe(400);
      expect(response.body.reason).toBe("invalid_update");
    }
    // A refused update changes nothing, not even the documents before the failing one.
    // Setting _id to its own value is allowed, so this fails on the second document only.
    const response = await api.call("POST", "/colls/books/updateMany", {
      filter: {},
      update: { $inc: { year: 1 }, $set: { _id: id(1) } },
    });
    expect(response.status).toBe(400);
    expect((await api.call("GET", `/colls/books/docs/${id(1)}`)).body.year).toBe(1965);
  });
});

describe('"@me" and other references', () => {
  it("stands for the token's user in documents, queries and updateMany filters, not in updates", async () => {
    await api.call(
      "POST",
      "/colls/counter/docs",
      { user: "@me", count: 0, owners: ["@me", "x"] },
      "alice",
    );
    await api.call("POST", "/colls/counter/docs", { user: "@me", count: 0 }, "bob");
    const mine = await api.call("POST", "/colls/counter/find", { query: { user: "@me" } }, "alice");
    expect(mine.body).toEqual([
      { _id: expect.any(String), user: "user-alice", count: 0, owners: ["user-alice", "x"] },
    ]);
    const update = { $inc: { count: 5 }, $set: { by: "@me" } };
    const answer = await api.call(
      "POST",
      "/colls/counter/updateMany",
      { filter: { user: "@me" }, update },
      "bob",
    );
    expect(answer.body).toEqual(update);
    const bobs = await api.call(
      "POST",
      "/colls/counter/find",
      { query: { user: { $in: ["@me"] } } },
      "bob",
    );
    // Lenra replaces references in the filter only: the update stores the text.
    expect(bobs.body).toEqual([{ _id: expect.any(String), user: "user-bob", count: 5, by: "@me" }]);
    // Only whole references are replaced; keys never.
    const literal = await api.call(
      "POST",
      "/colls/c/docs",
      { note: "@me and you", bang: "@me!", "@me": 1 },
      "alice",
    );
    expect(literal.body).toEqual({
      _id: expect.any(String),
      note: "@me and you",
      bang: "@me!",
      "@me": 1,
    });
  });

  it("is null with a token that has no user, never a refusal, and so is any other reference", async () => {
    api.store.insertMany("counter", [
      { _id: id(1), user: "global" },
      { _id: id(2), user: null },
    ]);
    const response = await api.call(
      "POST",
      "/colls/counter/find",
      { query: { user: "@me" } },
      "env",
    );
    expect(response.status).toBe(200);
    expect(response.body).toEqual([{ _id: id(2), user: null }]);
    const created = await api.call("POST", "/colls/counter/docs", { user: "@me" }, "env");
    expect(created.body).toEqual({ _id: expect.any(String), user: null });
    const route = await api.call(
      "POST",
      "/colls/counter/find",
      { query: { user: "@route.id", $or: [{ user: "@roles" }] } },
      "alice",
    );
    expect(route.body).toEqual([
      { _id: id(2), user: null },
      { _id: created.body._id, user: null },
    ]);
  });
});

describe("authentication and bad requests", () => {
  it("refuses a missing or unknown token on every route", async () => {
    const routes: [string, string][] = [
      ["GET", "/colls/c/docs/a"],
      ["PUT", "/colls/c/docs/a"],
      ["DELETE", "/colls/c/docs/a"],
      ["GET", "/colls/c/docs"],
      ["POST", "/colls/c/docs"],
      ["POST", "/colls/c/find"],
      ["POST", "/colls/c/insertMany"],
      ["POST", "/colls/c/updateMany"],
      ["POST", "/transaction"],
      ["POST", "/transaction/commit"],
      ["POST", "/transaction/abort"],
    ];
    for (const [method, path] of routes) {
      const missing = await api.call(method, path, {}, null);
      expect(missing.status, `${method} ${path}`).toBe(401);
      expect(missing.body.reason).toBe("missing_token");
      expect(missing.headers.get("www-authenticate")).toMatch(/^Bearer/);
      const unknown = await api.call(method, path, {}, "forged");
      expect(unknown.status, `${method} ${path}`).toBe(401);
      expect(unknown.body.reason).toBe("invalid_token");
    }
    expect(api.store.collectionNames()).toEqual([]);
  });

  it("answers clear 4xx errors for bad JSON, unknown routes, wrong methods and bad names", async () => {
    const badJson = await api.call("POST", "/colls/c/docs", "{ nope");
    expect(badJson.status).toBe(400);
    expect(badJson.body).toEqual({
      message: expect.stringContaining("not valid JSON"),
      reason: "invalid_json",
    });

    const notObject = await api.call("POST", "/colls/c/docs", [1, 2]);
    expect(notObject.status).toBe(400);
    expect(notObject.body.reason).toBe("invalid_request");

    for (const path of [
      "/colls/c",
      "/colls/c/nope",
      "/colls/c/docs/a/b",
      "/nope",
      "",
      "/transaction/nope",
    ]) {
      const response = await api.call("POST", path, {});
      expect(response.status, path).toBe(404);
      expect(response.body.reason).toBe("route_not_found");
    }
    const wrongMethod = await api.call("PATCH", "/colls/c/docs/a", {});
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("GET, PUT, DELETE");

    for (const name of [
      "%24bad",
      "a%2Fb",
      "__proto__",
      "system.users",
      ".hidden",
      "x".repeat(121),
      "%E0%A4%A",
    ]) {
      const response = await api.call("POST", `/colls/${name}/find`, { query: {} });
      expect(response.status, name).toBe(400);
    }
    // Other paths are left to the next handler.
    const other = await fetch(`${api.url}/somewhere-else`);
    expect(other.status).toBe(404);
    expect(await other.text()).toBe("not the data API");
  });

  it("refuses a body over the size limit with 413 and keeps serving", async () => {
    await api.close();
    api = await startDataApi({ maxBodyBytes: 1024 });
    const big = { text: "x".repeat(2000) };
    const response = await api.call("POST", "/colls/c/docs", big);
    expect(response.status).toBe(413);
    expect(response.body.reason).toBe("body_too_large");

    // Without a content-length, the limit is enforced while reading.
    const chunked = await new Promise<number>((resolve, reject) => {
      const { port } = new URL(api.url);
      const req = request(
        {
          host: "127.0.0.1",
          port,
          method: "POST",
          path: "/app-api/v1/data/colls/c/docs",
          headers: { authorization: "Bearer alice", "transfer-encoding": "chunked" },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.write(`{"text":"${"y".repeat(800)}`);
      req.write(`${"y".repeat(800)}"}`);
      req.end();
    });
    expect(chunked).toBe(413);
    expect((await api.call("POST", "/colls/c/docs", { small: true })).status).toBe(200);
    expect(api.store.listDocs("c")).toHaveLength(1);
  });
});

describe("prototype pollution", () => {
  it("refuses __proto__, constructor and prototype as keys or path segments anywhere", async () => {
    const attempts: [string, string, string][] = [
      ["/colls/c/docs", "POST", '{"__proto__":{"polluted":true}}'],
      ["/colls/c/docs", "POST", '{"a":{"b":[{"constructor":{"prototype":{"polluted":true}}}]}}'],
      ["/colls/c/insertMany", "POST", '{"documents":[{"ok":1},{"__proto__":{"polluted":true}}]}'],
      ["/colls/c/find", "POST", '{"query":{"__proto__.polluted":true}}'],
      ["/colls/c/find", "POST", '{"query":{},"projection":{"constructor":1}}'],
      [
        "/colls/c/updateMany",
        "POST",
        '{"filter":{},"update":{"$set":{"__proto__.polluted":true}}}',
      ],
      [
        "/colls/c/updateMany",
        "POST",
        '{"filter":{},"update":{"$set":{"a.constructor.prototype.polluted":true}}}',
      ],
      [
        "/colls/c/updateMany",
        "POST",
        '{"filter":{},"update":{"$set":{"a":{"__proto__":{"polluted":true}}}}}',
      ],
      [`/colls/c/docs/${id(1)}`, "PUT", '{"prototype":1}'],
    ];
    api.store.createDoc("c", { _id: id(1), a: {} });
    for (const [path, method, body] of attempts) {
      const response = await api.call(method, path, body);
      expect(response.status, body).toBe(400);
      expect(response.body.reason, body).toBe("forbidden_key");
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("polluted");
    expect(api.store.listDocs("c")).toEqual([{ _id: id(1), a: {} }]);
  });
});

describe("transactions", () => {
  async function begin(token = "alice"): Promise<string> {
    const response = await api.call("POST", "/transaction", undefined, token);
    expect(response.status).toBe(200);
    expect(typeof response.body).toBe("string");
    return response.body;
  }

  it("holds creates, insertMany, PUT and DELETE until commit; finds, reads and updateMany ignore it, as on Lenra", async () => {
    api.store.insertMany("c", [
      { _id: id(1), n: 1 },
      { _id: id(2), n: 1 },
      { _id: id(3), n: 1 },
    ]);
    const tx = await begin();
    const created = await api.call("POST", "/colls/c/docs", { user: "@me" }, tx);
    await api.call("POST", "/colls/d/insertMany", { documents: [{ x: 1 }] }, tx);
    await api.call("PUT", `/colls/c/docs/${id(1)}`, { n: 10 }, tx);
    await api.call("DELETE", `/colls/c/docs/${id(2)}`, undefined, tx);
    // updateMany runs at once, outside the transaction.
    await api.call(
      "POST",
      "/colls/c/updateMany",
      { filter: { _id: id(3) }, update: { $inc: { n: 1 } } },
      tx,
    );
    expect(api.store.getDoc("c", id(3))).toEqual({ _id: id(3), n: 2 });

    // Reads with the transaction's token see the committed data, not its writes; nor does anyone.
    for (const token of [tx, "alice"]) {
      expect((await api.call("GET", `/colls/c/docs/${id(1)}`, undefined, token)).body.n).toBe(1);
      expect(
        (await api.call("POST", "/colls/c/find", { query: { user: "@me" } }, token)).body,
      ).toEqual([]);
      expect((await api.call("GET", "/colls/d/docs", undefined, token)).body).toEqual([]);
    }

    const changes: string[][] = [];
    api.store.onChange((change) => changes.push([...change.collections].sort()));
    const commit = await api.call("POST", "/transaction/commit", undefined, tx);
    expect([commit.status, commit.body]).toEqual([200, {}]);
    expect(changes).toEqual([["c", "d"]]);
    expect(api.store.listDocs("c")).toEqual([
      { _id: id(1), n: 10 },
      { _id: id(3), n: 2 },
      { _id: created.body._id, user: "user-alice" },
    ]);
    expect((await api.call("GET", "/colls/d/docs")).body).toEqual([
      { _id: expect.any(String), x: 1 },
    ]);
  });

  it("leaves data unchanged on abort", async () => {
    api.store.createDoc("c", { _id: id(1), n: 1 });
    const tx = await begin();
    await api.call("DELETE", `/colls/c/docs/${id(1)}`, undefined, tx);
    await api.call("POST", "/colls/c/docs", { n: 2 }, tx);
    expect((await api.call("POST", "/transaction/abort", undefined, tx)).status).toBe(200);
    expect(api.store.listDocs("c")).toEqual([{ _id: id(1), n: 1 }]);
    const after = await api.call("POST", "/colls/c/docs", { n: 3 }, tx);
    expect(after.status).toBe(409);
    expect(after.body.reason).toBe("transaction_ended");
  });

  it("refuses a second commit, commit after abort, and nesting", async () => {
    const tx = await begin();
    await api.call("POST", "/colls/c/docs", { n: 1 }, tx);
    expect((await api.call("POST", "/transaction", undefined, tx)).body.reason).toBe(
      "nested_transaction",
    );
    expect((await api.call("POST", "/transaction/commit", undefined, tx)).status).toBe(200);
    const again = await api.call("POST", "/transaction/commit", undefined, tx);
    expect(again.status).toBe(409);
    expect(again.body).toEqual({
      message: "This transaction was already committed.",
      reason: "transaction_ended",
    });
    expect(api.store.listDocs("c")).toEqual([{ _id: expect.any(String), n: 1 }]);

    const aborted = await begin();
    await api.call("POST", "/transaction/abort", undefined, aborted);
    expect((await api.call("POST", "/transaction/commit", undefined, aborted)).body.reason).toBe(
      "transaction_ended",
    );

    const notTx = await api.call("POST", "/transaction/commit", undefined, "alice");
    expect(notTx.status).toBe(400);
    expect(notTx.body.reason).toBe("not_a_transaction");
  });

  it("fails the commit with 409 and applies nothing when another write changed the same document", async () => {
    api.store.insertMany("c", [
      { _id: id(1), n: 1 },
      { _id: id(2), n: 1 },
    ]);
    const tx = await begin();
    await api.call("PUT", `/colls/c/docs/${id(1)}`, { n: 10 }, tx);
    await api.call("PUT", `/colls/c/docs/${id(2)}`, { n: 10 }, tx);
    await api.call("POST", "/colls/c/updateMany", {
      filter: { _id: id(2) },
      update: { $inc: { n: 1 } },
    });
    const commit = await api.call("POST", "/transaction/commit", undefined, tx);
    expect(commit.status).toBe(409);
    expect(commit.body.reason).toBe("transaction_conflict");
    expect(api.store.listDocs("c")).toEqual([
      { _id: id(1), n: 1 },
      { _id: id(2), n: 2 },
    ]);
  });

  it("expires a forgotten transaction without applying it", async () => {
    await api.close();
    api = await startDataApi({ transactionTimeoutMs: 50 });
    const tx = await begin();
    await api.call("POST", "/colls/c/docs", { n: 1 }, tx);
    await new Promise((resolve) => setTimeout(resolve, 120));
    const commit = await api.call("POST", "/transaction/commit", undefined, tx);
    expect(commit.status).toBe(409);
    expect(commit.body.message).toContain("expired");
    expect(api.store.listDocs("c")).toEqual([]);
  });
});

describe("change events", () => {
  it("report the collections each committed change touched, and nothing for no-ops", async () => {
    const changes: string[][] = [];
    const off = api.store.onChange((change) => changes.push([...change.collections]));
    const created = await api.call("POST", "/colls/a/docs", { n: 1 });
    await api.call("POST", "/colls/b/updateMany", { filter: {}, update: { $set: { x: 1 } } });
    await api.call("POST", "/colls/a/updateMany", { filter: {}, update: { $set: { x: 1 } } });
    await api.call("POST", "/colls/a/updateMany", { filter: {}, update: { $set: { x: 1 } } });
    await api.call("DELETE", `/colls/a/docs/${created.body._id}`);
    await api.call("DELETE", `/colls/a/docs/${created.body._id}`);
    off();
    await api.call("POST", "/colls/a/docs", { n: 2 });
    expect(changes).toEqual([["a"], ["a"], ["a"]]);
  });
});
