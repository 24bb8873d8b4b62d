import { mkdir, mkdtemp, readdir, readFile, rm, rmdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import writeFileAtomic from "write-file-atomic";
import { DataFileError } from "../src/data/errors.ts";
import { createDataStore } from "../src/data/store.ts";
import { startDataApi } from "./data-support.ts";

let dir: string;
let file: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "devserver-data-"));
  file = join(dir, ".devserver-data.json");
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("persistence", () => {
  it("keeps every collection, document and order across a restart", async () => {
    const first = await startDataApi({ file });
    await first.call("POST", "/colls/counter/docs", { user: "global", count: 0 }, "env");
    await first.call("POST", "/colls/todo/insertMany", {
      documents: [
        { title: "b", user: "@me" },
        { title: "a", user: "@me" },
      ],
    });
    await first.call("POST", "/colls/counter/updateMany", {
      filter: {},
      update: { $inc: { count: 3 } },
    });
    const before = {
      counter: first.store.listDocs("counter"),
      todo: first.store.listDocs("todo"),
    };
    await first.close();

    const saved = JSON.parse(await readFile(file, "utf8"));
    expect(saved).toEqual({ collections: before });

    const second = await startDataApi({ file });
    expect((await second.call("GET", "/colls/counter/docs")).body).toEqual(before.counter);
    expect((await second.call("GET", "/colls/todo/docs")).body).toEqual(before.todo);
    expect(before.counter[0]).toMatchObject({ user: "global", count: 3 });
    // Loaded data behaves like any other: it can be changed and saved again.
    await second.call("DELETE", `/colls/todo/docs/${before.todo[0]?._id}`);
    await second.close();
    const third = await createDataStore({ file });
    expect(third.listDocs("todo")).toEqual([before.todo[1]]);
    await third.close();
  });

  it("saves by itself shortly after changes, one write for a burst", async () => {
    const store = await createDataStore({ file, saveDelayMs: 30 });
    for (let n = 0; n < 20; n += 1) store.createDoc("c", { n });
    await expect(readFile(file, "utf8")).rejects.toThrow(/ENOENT/);
    await waitFor(async () => JSON.parse(await readFile(file, "utf8")).collections.c.length === 20);
    await store.close();
  });

  it("never shows a reader a partial file and leaves no temporary file", async () => {
    const store = await createDataStore({ file, saveDelayMs: 0 });
    const big = "x".repeat(20_000);
    store.createDoc("c", { big });
    await store.flush();
    let reads = 0;
    let writing = true;
    const reader = (async () => {
      while (writing) {
        const text = await readFile(file, "utf8");
        // Throws on a half-written file.
        const parsed = JSON.parse(text);
        expect(parsed.collections.c.length).toBeGreaterThan(0);
        reads += 1;
      }
    })();
    for (let n = 0; n < 30; n += 1) {
      store.createDoc("c", { big, n });
      await store.flush();
    }
    writing = false;
    await reader;
    await store.close();
    expect(reads).toBeGreaterThan(0);
    expect(await readdir(dir)).toEqual([".devserver-data.json"]);
    expect(JSON.parse(await readFile(file, "utf8")).collections.c).toHaveLength(31);
  });

  it("keeps the data and retries after a failed save, cleaning its temporary file", async () => {
    const store = await createDataStore({ file, saveDelayMs: 10_000 });
    // A directory where the file should be makes the final rename fail.
    await mkdir(file);
    store.createDoc("c", { _id: "a" });
    await expect(store.flush()).rejects.toThrow();
    expect(await readdir(dir)).toEqual([".devserver-data.json"]);
    await rmdir(file);
    store.createDoc("c", { _id: "b" });
    await store.close();
    expect(
      JSON.parse(await readFile(file, "utf8")).collections.c.map((d: { _id: string }) => d._id),
    ).toEqual(["a", "b"]);
  });

  it("writes atomically with writeFileAtomic: old content until the rename", async () => {
    await writeFile(file, "old");
    await writeFileAtomic(file, "new content");
    expect(await readFile(file, "utf8")).toBe("new content");
    await expect(writeFileAtomic(join(dir, "missing-dir", "f.json"), "x")).rejects.toThrow(
      /ENOENT/,
    );
    expect(await readdir(dir)).toEqual([".devserver-data.json"]);
  });

  it("refuses a corrupt or invalid file with a clear error and never touches it", async () => {
    const cases: [string, RegExp][] = [
      ["{ not json", /not valid JSON/],
      ["[]", /not an object of the form/],
      ['{"collections":{"c":{}}}', /collection "c" is invalid: it is not an array/],
      ['{"collections":{"c":[{"n":1}]}}', /_id must be a non-empty string/],
      ['{"collections":{"c":[{"_id":"a"},{"_id":"a"}]}}', /"a" appears twice/],
      ['{"collections":{"c":[{"_id":"a","__proto__":{"x":1}}]}}', /forbidden key "__proto__"/],
      ['{"collections":{"bad/name":[]}}', /Invalid collection name/],
      ['{"collections":{},"auth":[]}', /"auth" is not an object/],
      ['{"collections":{},"auth":{"a":{"__proto__":{"x":1}}}}', /forbidden key "__proto__"/],
    ];
    for (const [text, message] of cases) {
      await writeFile(file, text);
      const error = await createDataStore({ file }).catch((caught: unknown) => caught);
      expect(error, text).toBeInstanceOf(DataFileError);
      expect((error as Error).message, text).toMatch(message);
      expect((error as Error).message).toContain(file);
      expect(await readFile(file, "utf8")).toBe(text);
    }
  });

  it("saves a section's latest snapshot with the data and gives it to its owner's check at load", async () => {
    const store = await createDataStore({ file, saveDelayMs: 0 });
    const section = store.section("auth");
    expect(section.load(() => "unused")).toBeUndefined();
    let state = { logins: 1 };
    section.save(() => state);
    state = { logins: 2 };
    store.createDoc("c", { _id: "a" });
    await store.close();
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual({
      collections: { c: [{ _id: "a" }] },
      auth: { logins: 2 },
    });

    const again = await createDataStore({ file });
    expect(again.section("auth").load((saved) => saved)).toEqual({ logins: 2 });
    const load = () =>
      again.section("auth").load(() => {
        throw new Error('"logins" is too high.');
      });
    expect(load).toThrow(DataFileError);
    expect(load).toThrow(
      `Cannot load the data file ${file}: its "auth" section is invalid: "logins" is too high. Fix the file or move it away; the dev server left it untouched.`,
    );
    await again.close();
  });

  it("starts empty when the file does not exist yet, and creates it on the first change", async () => {
    const store = await createDataStore({ file });
    expect(store.collectionNames()).toEqual([]);
    await store.close();
    await expect(readFile(file)).rejects.toThrow(/ENOENT/);
    const again = await createDataStore({ file });
    again.createDoc("c", { _id: "a" });
    await again.close();
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual({
      collections: { c: [{ _id: "a" }] },
    });
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {}
    if (Date.now() > deadline) throw new Error("Timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
