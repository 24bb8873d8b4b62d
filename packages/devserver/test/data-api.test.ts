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

describe("documents", () => {
  it("creates, reads, replaces, lists and deletes a document", async () => {
    const created = await api.call("POST", "/colls/books/docs", { title: "Dune", year: 1965 });
    expect(created.status).toBe(200);
    expect(created.body).toEqual({
      _id: expect.stringMatching(/^[0-9a-f]{24}$/),
      title: "Dune",
      year: 1965,
    });
    const id = created.body._id;

    expect((await api.call("GET", `/colls/books/docs/${id}`)).body).toEqual(created.body);

    const replaced = await api.call("PUT", `/colls/books/docs/${id}`, {
      _id: id,
      title: "Dune",
      year: 1966,
    });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toEqual({ _id: id, title: "Dune", year: 1966 });

    expect((await api.call("GET", "/colls/books/docs")).body).toEqual([replaced.body]);

    const deleted = await api.call("DELETE", `/colls/books/docs/${id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual(replaced.body);
    expect((await api.call("GET", `/colls/books/docs/${id}`)).status).toBe(404);
    expect((await api.call("GET", "/colls/books/docs")).body).toEqual([]);
  });

  it("keeps a given _id, refuses a duplicate one and generates unique ids otherwise", async () => {
    expect((await api.call("POST", "/colls/c/docs", { _id: "mine", n: 1 })).body).toEqual({
      _id: "mine",
      n: 1,
    });
    const duplicate = await api.call("POST", "/colls/c/docs", { _id: "mine" });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.reason).toBe("duplicate_id");
    const inserted = await api.call("POST", "/colls/c/insertMany", {
      documents: Array.from({ length: 50 }, (_, n) => ({ n })),
    });
    expect(inserted.status).toBe(200);
    expect(new Set(inserted.body.insertedIds).size).toBe(50);
    // Ids sort in creation order, like MongoDB ObjectIds.
    expect([...inserted.body.insertedIds].sort()).toEqual(inserted.body.insertedIds);
  });

  it("inserts many documents all or none", async () => {
    const refused = await api.call("POST", "/colls/c/insertMany", {
      documents: [{ _id: "a" }, { _id: "a" }],
    });
    expect(refused.status).toBe(409);
    expect((await api.call("GET", "/colls/c/docs")).body).toEqual([]);
  });

  it("answers 404 for a missing document on GET, PUT and DELETE", async () => {
    for (const method of ["GET", "PUT", "DELETE"]) {
      const response = await api.call(
        method,
        "/colls/c/docs/nope",
        method === "PUT" ? { a: 1 } : undefined,
      );
      expect(response.status).toBe(404);
      expect(response.body).toEqual({ message: expect.any(String), reason: "document_not_found" });
    }
  });

  it("refuses a PUT whose body changes _id", async () => {
    await api.call("POST", "/colls/c/docs", { _id: "a" });
    const response = await api.call("PUT", "/colls/c/docs/a", { _id: "b" });
    expect(response.status).toBe(400);
    expect(response.body.reason).toBe("invalid_update");
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
  beforeEach(async () => {
    await api.call("POST", "/colls/books/insertMany", {
      documents: [
        { _id: "1", title: "Dune", year: 1965, tags: ["sf"], author: "Herbert" },
        { _id: "2", title: "Emma", year: 1815, tags: ["novel"], author: "Austen" },
        { _id: "3", title: "Ubik", year: 1969, tags: ["sf"], author: "Dick" },
        { _id: "4", title: "Persuasion", year: 1817, tags: ["novel"], author: "Austen" },
      ],
    });
  });

  it("finds with a query, a projection, sort, skip and limit", async () => {
    const all = await api.call("POST", "/colls/books/find", { query: { tags: "sf" } });
    expect(all.body.map((doc: { _id: string }) => doc._id)).toEqual(["1", "3"]);

    const page = await api.call("POST", "/colls/books/find", {
      query: { year: { $gt: 1800 } },
      projection: { title: 1 },
      options: { sort: { year: -1 }, skip: 1, limit: 2 },
    });
    expect(page.body).toEqual([
      { _id: "1", title: "Dune" },
      { _id: "4", title: "Persuasion" },
    ]);

    const excluded = await api.call("POST", "/colls/books/find", {
      query: { _id: "2" },
      projection: { tags: 0, author: 0 },
    });
    expect(excluded.body).toEqual([{ _id: "2", title: "Emma", year: 1815 }]);

    const nullProjection = await api.call("POST", "/colls/books/find", {
      query: { $or: [{ _id: "2" }, { year: 1969 }] },
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

  it("updates with $set, $inc, $push, $pull and $unset", async () => {
    const result = await api.call("POST", "/colls/books/updateMany", {
      filter: { author: "Austen" },
      update: {
        $inc: { year: 1 },
        $push: { tags: "classic" },
        $set: { "meta.read": true },
        $unset: { author: "" },
      },
    });
    expect(result.status).toBe(200);
    expect(result.body).toEqual({ matchedCount: 2, modifiedCount: 2 });
    expect((await api.call("GET", "/colls/books/docs/2")).body).toEqual({
      _id: "2",
      title: "Emma",
      year: 1816,
      tags: ["novel", "classic"],
      meta: { read: true },
    });
    await api.call("POST", "/colls/books/updateMany", {
      filter: {},
      update: { $pull: { tags: "novel" } },
    });
    expect((await api.call("GET", "/colls/books/docs/4")).body.tags).toEqual(["classic"]);
    expect((await api.call("GET", "/colls/books/docs/1")).body.tags).toEqual(["sf"]);
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
      update: { $inc: { year: 1 }, $set: { _id: "1" } },
    });
    expect(response.status).toBe(400);
    expect((await api.call("GET", "/colls/books/docs/1")).body.year).toBe(1965);
  });
});

describe('"@me"', () => {
  it("stands for the token's user in documents, queries and update values", async () => {
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
    await api.call(
      "POST",
      "/colls/counter/updateMany",
      { filter: { user: "@me" }, update: { $inc: { count: 5 }, $set: { by: "@me" } } },
      "bob",
    );
    const bobs = await api.call(
      "POST",
      "/colls/counter/find",
      { query: { user: { $in: ["@me"] } } },
      "bob",
    );
    expect(bobs.body).toEqual([
      { _id: expect.any(String), user: "user-bob", count: 5, by: "user-bob" },
    ]);
    // Only exact strings are replaced.
    const literal = await api.call(
      "POST",
      "/colls/c/docs",
      { note: "@me and you", "@me": 1 },
      "alice",
    );
    expect(literal.body).toEqual({ _id: expect.any(String), note: "@me and you", "@me": 1 });
  });

  it("is refused with a token that has no user", async () => {
    const response = await api.call(
      "POST",
      "/colls/counter/find",
      { query: { user: "@me" } },
      "env",
    );
    expect(response.status).toBe(403);
    expect(response.body.reason).toBe("no_current_user");
    expect((await api.call("POST", "/colls/counter/docs", { user: "global" }, "env")).status).toBe(
      200,
    );
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
      ["/colls/c/docs/x", "PUT", '{"prototype":1}'],
    ];
    await api.call("POST", "/colls/c/docs", { _id: "x", a: {} });
    for (const [path, method, body] of attempts) {
      const response = await api.call(method, path, body);
      expect(response.status, body).toBe(400);
      expect(response.body.reason, body).toBe("forbidden_key");
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("polluted");
    expect(api.store.listDocs("c")).toEqual([{ _id: "x", a: {} }]);
  });
});

describe("transactions", () => {
  async function begin(token = "alice"): Promise<string> {
    const response = await api.call("POST", "/transaction", undefined, token);
    expect(response.status).toBe(200);
    expect(typeof response.body).toBe("string");
    return response.body;
  }

  it("keeps writes invisible to others until commit, then applies them all", async () => {
    await api.call("POST", "/colls/c/docs", { _id: "a", n: 1 });
    const tx = await begin();
    await api.call(
      "POST",
      "/colls/c/updateMany",
      { filter: { _id: "a" }, update: { $inc: { n: 1 } } },
      tx,
    );
    await api.call("POST", "/colls/c/docs", { _id: "b", user: "@me" }, tx);
    await api.call("POST", "/colls/d/insertMany", { documents: [{ _id: "x" }] }, tx);

    // The transaction reads its own writes…
    expect((await api.call("GET", "/colls/c/docs/a", undefined, tx)).body.n).toBe(2);
    expect((await api.call("POST", "/colls/c/find", { query: { user: "@me" } }, tx)).body).toEqual([
      { _id: "b", user: "user-alice" },
    ]);
    // …nobody else does.
    expect((await api.call("GET", "/colls/c/docs/a")).body.n).toBe(1);
    expect((await api.call("GET", "/colls/c/docs/b")).status).toBe(404);
    expect((await api.call("GET", "/colls/d/docs")).body).toEqual([]);

    const changes: string[][] = [];
    api.store.onChange((change) => changes.push([...change.collections].sort()));
    const commit = await api.call("POST", "/transaction/commit", undefined, tx);
    expect(commit.status).toBe(200);
    expect(changes).toEqual([["c", "d"]]);
    expect((await api.call("GET", "/colls/c/docs/a")).body.n).toBe(2);
    expect((await api.call("GET", "/colls/c/docs/b")).body).toEqual({
      _id: "b",
      user: "user-alice",
    });
    expect((await api.call("GET", "/colls/d/docs")).body).toEqual([{ _id: "x" }]);
  });

  it("leaves data unchanged on abort", async () => {
    await api.call("POST", "/colls/c/docs", { _id: "a", n: 1 });
    const tx = await begin();
    await api.call("DELETE", "/colls/c/docs/a", undefined, tx);
    await api.call("POST", "/colls/c/docs", { _id: "b" }, tx);
    expect((await api.call("POST", "/transaction/abort", undefined, tx)).status).toBe(200);
    expect(api.store.listDocs("c")).toEqual([{ _id: "a", n: 1 }]);
    const after = await api.call("GET", "/colls/c/docs", undefined, tx);
    expect(after.status).toBe(409);
    expect(after.body.reason).toBe("transaction_ended");
  });

  it("refuses a second commit, commit after abort, and nesting", async () => {
    const tx = await begin();
    await api.call("POST", "/colls/c/docs", { _id: "a" }, tx);
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
    expect(api.store.listDocs("c")).toEqual([{ _id: "a" }]);

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
    await api.call("POST", "/colls/c/insertMany", {
      documents: [
        { _id: "a", n: 1 },
        { _id: "b", n: 1 },
      ],
    });
    const tx = await begin();
    await api.call("POST", "/colls/c/updateMany", { filter: {}, update: { $inc: { n: 10 } } }, tx);
    await api.call("POST", "/colls/c/updateMany", {
      filter: { _id: "b" },
      update: { $inc: { n: 1 } },
    });
    const commit = await api.call("POST", "/transaction/commit", undefined, tx);
    expect(commit.status).toBe(409);
    expect(commit.body.reason).toBe("transaction_conflict");
    expect(api.store.listDocs("c")).toEqual([
      { _id: "a", n: 1 },
      { _id: "b", n: 2 },
    ]);
  });

  it("reads a stable snapshot: writes committed by others after the start stay unseen", async () => {
    const tx = await begin();
    await api.call("POST", "/colls/c/docs", { _id: "later" });
    expect((await api.call("GET", "/colls/c/docs", undefined, tx)).body).toEqual([]);
    await api.call("POST", "/colls/c/docs", { _id: "mine" }, tx);
    await api.call("POST", "/transaction/commit", undefined, tx);
    expect(api.store.listDocs("c").map((doc) => doc._id)).toEqual(["later", "mine"]);
  });

  it("expires a forgotten transaction without applying it", async () => {
    await api.close();
    api = await startDataApi({ transactionTimeoutMs: 50 });
    const tx = await begin();
    await api.call("POST", "/colls/c/docs", { _id: "a" }, tx);
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
    await api.call("POST", "/colls/a/docs", { _id: "1" });
    await api.call("POST", "/colls/b/updateMany", { filter: {}, update: { $set: { x: 1 } } });
    await api.call("POST", "/colls/a/updateMany", { filter: {}, update: { $set: { x: 1 } } });
    await api.call("POST", "/colls/a/updateMany", { filter: {}, update: { $set: { x: 1 } } });
    await api.call("DELETE", "/colls/a/docs/1");
    off();
    await api.call("POST", "/colls/a/docs", { _id: "2" });
    expect(changes).toEqual([["a"], ["a"], ["a"]]);
  });
});
