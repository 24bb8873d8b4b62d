import { describe, expect, it } from "vitest";
import { diffDocuments } from "../src/lenra/diff.ts";

describe("diffDocuments", () => {
  it("touches only what changed", () => {
    const before = { a: { b: 1, c: [1, 2, 3] }, d: "same" };
    const after = { a: { b: 2, c: [1, 2, 3] }, d: "same" };
    expect(diffDocuments(before, after)).toEqual([{ op: "replace", path: "/a/b", value: 2 }]);
  });

  it("is empty for equal documents", () => {
    expect(diffDocuments({ a: [1, { b: null }] }, { a: [1, { b: null }] })).toEqual([]);
  });

  it("replaces the root when its kind changes", () => {
    expect(diffDocuments({ a: 1 }, [1])).toEqual([{ op: "replace", path: "", value: [1] }]);
    expect(diffDocuments([1], { x: 1 })).toEqual([{ op: "replace", path: "", value: { x: 1 } }]);
    expect(diffDocuments(1, 2)).toEqual([{ op: "replace", path: "", value: 2 }]);
    expect(diffDocuments("a", "a")).toEqual([]);
  });
});
