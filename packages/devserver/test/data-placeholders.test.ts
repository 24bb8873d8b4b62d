import { describe, expect, it } from "vitest";
import {
  decodeObjectIds,
  isParamRef,
  paramRefs,
  readObjectId,
  replaceParams,
} from "../src/data/placeholders.ts";
import { DataStore } from "../src/data/store.ts";

describe("placeholders (lenra-io/query-parser's replace_params)", () => {
  it('replaces whole "@name.path" strings at any depth, keys and other strings untouched, without mutating', () => {
    const query = {
      _id: "@route.id",
      user: "@me",
      $or: [{ tags: { $in: ["@route.tag", "@me", "@me!", "a@me", "@ me", "@1"] } }],
      "@route.id": 1,
    };
    const frozen = structuredClone(query);
    expect(replaceParams(query, { me: "u1", route: { id: 42, tag: "red" } })).toEqual({
      _id: 42,
      user: "u1",
      $or: [{ tags: { $in: ["red", "u1", "@me!", "a@me", "@ me", "@1"] } }],
      "@route.id": 1,
    });
    expect(query).toEqual(frozen);
  });

  it("replaces a reference to nothing by null and says which", () => {
    const missing: string[] = [];
    const replaced = replaceParams(
      { a: "@route.nope", b: "@me", c: "@roles", d: "@me.name", e: "@toString" },
      { me: null, route: {} },
      (reference) => missing.push(reference),
    );
    expect(replaced).toEqual({ a: null, b: null, c: null, d: null, e: null });
    expect(missing).toEqual(["@route.nope", "@roles", "@me.name", "@toString"]);
  });

  it("tells references from plain strings", () => {
    expect(["@me", "@route.id", "@roles", "@a_b.$c"].every(isParamRef)).toBe(true);
    expect(["@", "@1", "@me!", "me", "@route.", "x@me", "@ me"].some(isParamRef)).toBe(false);
    expect(paramRefs({ $set: { owner: "@me", tags: ["@route.id", "plain"] } })).toEqual([
      "@me",
      "@route.id",
    ]);
  });

  it("keeps a __proto__ key an own property instead of a prototype", () => {
    const parsed = JSON.parse('{"__proto__":{"polluted":"@me"}}');
    const result = replaceParams(parsed, { me: "u1" }) as Record<string, unknown>;
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(Object.hasOwn(result, "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(replaceParams({ a: "@constructor" }, { me: "u1" })).toEqual({ a: null });
  });

  it("reads Lenra's ObjectId(<hex>) text as the dev server's id", () => {
    const hex = "65a1b2c3d4e5f60718293a4b";
    expect(readObjectId(hex)).toBe(hex);
    expect(readObjectId(`ObjectId(${hex.toUpperCase()})`)).toBe(hex);
    expect(readObjectId("t1")).toBeUndefined();
    expect(decodeObjectIds({ _id: `ObjectId(${hex})`, other: "ObjectId(12)" })).toEqual({
      _id: hex,
      other: "ObjectId(12)",
    });
  });

  it("serves a route's find on the store once replaced, as the renderer does", () => {
    const store = new DataStore();
    store.createDoc("todo", { _id: "t1", user: "u1", title: "mine" });
    store.createDoc("todo", { _id: "t2", user: "u2", title: "theirs" });
    const query = { _id: "@route.id", user: "@me" };
    const route = { id: "t1" };
    expect(store.find("todo", { query: replaceParams(query, { me: "u1", route }) })).toEqual([
      { _id: "t1", user: "u1", title: "mine" },
    ]);
    expect(store.find("todo", { query: replaceParams(query, { me: "u2", route }) })).toEqual([]);
  });
});
