import { describe, expect, it } from "vitest";
import { DataError } from "../src/data/errors.ts";
import {
  substituteMe,
  substitutePlaceholders,
  substituteRouteParams,
} from "../src/data/placeholders.ts";
import { DataStore } from "../src/data/store.ts";

describe("placeholders", () => {
  it('replaces "@route.<param>" and "@me" at any depth, exact strings only, without mutating', () => {
    const query = {
      _id: "@route.id",
      user: "@me",
      $or: [{ tags: { $in: ["@route.tag", "@me", "@me!"] } }],
      "@route.id": 1,
    };
    const frozen = structuredClone(query);
    expect(
      substitutePlaceholders(query, { userId: "u1", routeParams: { id: "42", tag: "red" } }),
    ).toEqual({
      _id: "42",
      user: "u1",
      $or: [{ tags: { $in: ["red", "u1", "@me!"] } }],
      "@route.id": 1,
    });
    expect(query).toEqual(frozen);
  });

  it('refuses an unknown route parameter and "@me" without a user', () => {
    expect(() => substituteRouteParams({ a: "@route.nope" }, { id: "1" })).toThrow(DataError);
    expect(() => substituteRouteParams({ a: "@route.toString" }, {})).toThrow(/names no parameter/);
    expect(() => substituteMe(["@me"], undefined)).toThrow(/belongs to no user/);
    expect(substituteMe({ a: "me" }, undefined)).toEqual({ a: "me" });
  });

  it("keeps a __proto__ key an own property instead of a prototype", () => {
    const parsed = JSON.parse('{"__proto__":{"polluted":"@me"}}');
    const result = substituteMe(parsed, "u1") as Record<string, unknown>;
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(Object.hasOwn(result, "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("serves a route's find on the store directly, as the renderer will", () => {
    const store = new DataStore();
    store.createDoc("todo", { _id: "t1", user: "@me", title: "mine" }, { userId: "u1" });
    store.createDoc("todo", { _id: "t2", user: "@me", title: "theirs" }, { userId: "u2" });
    const find = { coll: "todo", query: { _id: "@route.id", user: "@me" } };
    const query = substituteRouteParams(find.query, { id: "t1" });
    expect(store.find(find.coll, { query }, { userId: "u1" })).toEqual([
      { _id: "t1", user: "u1", title: "mine" },
    ]);
    expect(store.find(find.coll, { query }, { userId: "u2" })).toEqual([]);
  });
});
