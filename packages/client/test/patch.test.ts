import { describe, expect, it } from "vitest";
import { LenraPatchError, type PatchFailure } from "../src/errors.ts";
import { applyPatch, type JsonPatchOperation } from "../src/patch.ts";
import { deepFreeze } from "./support/arbitraries.ts";
import { assertSameJson, referenceApply } from "./support/reference-patch.ts";

function failure(document: unknown, operations: unknown): LenraPatchError {
  try {
    applyPatch(document, operations as JsonPatchOperation[]);
  } catch (error) {
    if (error instanceof LenraPatchError) return error;
    throw error;
  }
  throw new Error("the patch applied");
}

describe("applyPatch operations", () => {
  it("applies each of the six operations", () => {
    const doc = deepFreeze({ a: 1, list: [1, 2, 3], nested: { x: "x" } });
    expect(
      applyPatch(doc, [
        { op: "add", path: "/b", value: 2 },
        { op: "remove", path: "/list/0" },
        { op: "replace", path: "/nested/x", value: "y" },
        { op: "move", from: "/a", path: "/moved" },
        { op: "copy", from: "/nested", path: "/copied" },
        { op: "test", path: "/list", value: [2, 3] },
        { op: "add", path: "/list/-", value: 4 },
      ]),
    ).toStrictEqual({
      b: 2,
      list: [2, 3, 4],
      nested: { x: "y" },
      moved: 1,
      copied: { x: "y" },
    });
  });

  it("compares deeply in test: key order ignored, array order kept, numbers by value", () => {
    const doc = { a: { x: 1, y: [1, { z: 2.0 }] } };
    expect(() =>
      applyPatch(doc, [{ op: "test", path: "/a", value: { y: [1, { z: 2 }], x: 1.0 } }]),
    ).not.toThrow();
    expect(failure(doc, [{ op: "test", path: "/a/y", value: [{ z: 2 }, 1] }]).failure).toBe(
      "test_failed",
    );
    expect(failure(doc, [{ op: "test", path: "/a", value: { x: 1 } }]).failure).toBe("test_failed");
    expect(failure({ a: [] }, [{ op: "test", path: "/a", value: {} }]).failure).toBe("test_failed");
    expect(failure({ a: null }, [{ op: "test", path: "/a", value: {} }]).failure).toBe(
      "test_failed",
    );
  });

  it("decodes RFC 6901 escapes, in the right order", () => {
    const doc = { "a/b": 1, "m~n": 2, "~1": 3, "": { "": 4 } };
    expect(applyPatch(doc, [{ op: "replace", path: "/a~1b", value: 10 }])["a/b"]).toBe(10);
    expect(applyPatch(doc, [{ op: "replace", path: "/m~0n", value: 20 }])["m~n"]).toBe(20);
    expect(applyPatch(doc, [{ op: "replace", path: "/~01", value: 30 }])["~1"]).toBe(30);
    expect(applyPatch(doc, [{ op: "replace", path: "//", value: 40 }])[""]).toStrictEqual({
      "": 40,
    });
  });

  it("uses numeric-looking keys as plain keys on objects", () => {
    expect(applyPatch({}, [{ op: "add", path: "/01", value: 1 }])).toStrictEqual({ "01": 1 });
    expect(applyPatch({}, [{ op: "add", path: "/-", value: 1 }])).toStrictEqual({ "-": 1 });
  });

  it("moves inside one array with the index evaluated after the removal", () => {
    expect(applyPatch([0, 1, 2, 3], [{ op: "move", from: "/0", path: "/3" }])).toStrictEqual([
      1, 2, 3, 0,
    ]);
    expect(applyPatch([0, 1, 2, 3], [{ op: "move", from: "/3", path: "/0" }])).toStrictEqual([
      3, 0, 1, 2,
    ]);
  });

  it("replaces the whole document with an empty path", () => {
    expect(applyPatch({ a: 1 }, [{ op: "replace", path: "", value: [1] }])).toStrictEqual([1]);
    expect(applyPatch({ a: 1 }, [{ op: "add", path: "", value: "x" }])).toBe("x");
    expect(applyPatch({ a: { b: 1 } }, [{ op: "move", from: "/a", path: "" }])).toStrictEqual({
      b: 1,
    });
    expect(applyPatch({ a: 1 }, [{ op: "copy", from: "", path: "/self" }])).toStrictEqual({
      a: 1,
      self: { a: 1 },
    });
  });
});

describe("applyPatch failures", () => {
  const cases: [string, unknown, unknown, PatchFailure, number][] = [
    ["operations not an array", {}, { op: "add" }, "invalid_patch", -1],
    ["operations null", {}, null, "invalid_patch", -1],
    ["operation not an object", {}, ["add"], "invalid_operation", 0],
    ["operation null", {}, [null], "invalid_operation", 0],
    ["operation an array", {}, [[]], "invalid_operation", 0],
    ["unknown op", { a: 1 }, [{ op: "increment", path: "/a" }], "invalid_operation", 0],
    ["missing op", { a: 1 }, [{ path: "/a", value: 1 }], "invalid_operation", 0],
    ["missing path", {}, [{ op: "add", value: 1 }], "invalid_operation", 0],
    ["non-string path", {}, [{ op: "add", path: 1, value: 1 }], "invalid_operation", 0],
    ["missing value", {}, [{ op: "add", path: "/a" }], "invalid_operation", 0],
    [
      "undefined value",
      {},
      [{ op: "replace", path: "/a", value: undefined }],
      "invalid_operation",
      0,
    ],
    ["missing from", { a: 1 }, [{ op: "move", path: "/b" }], "invalid_operation", 0],
    ["non-string from", { a: 1 }, [{ op: "copy", from: 0, path: "/b" }], "invalid_operation", 0],
    ["pointer without slash", {}, [{ op: "add", path: "a", value: 1 }], "invalid_pointer", 0],
    ["bad escape", { a: 1 }, [{ op: "remove", path: "/~2" }], "invalid_pointer", 0],
    ["trailing tilde", { a: 1 }, [{ op: "remove", path: "/a~" }], "invalid_pointer", 0],
    ["leading zero index", [1, 2], [{ op: "remove", path: "/01" }], "invalid_pointer", 0],
    ["negative index", [1, 2], [{ op: "remove", path: "/-1" }], "invalid_pointer", 0],
    ["key on an array", [1, 2], [{ op: "add", path: "/a", value: 1 }], "invalid_pointer", 0],
    ["remove past the end", [1, 2], [{ op: "remove", path: "/2" }], "path_not_found", 0],
    ["add past the end", [1, 2], [{ op: "add", path: "/3", value: 0 }], "path_not_found", 0],
    ["replace dash", [1, 2], [{ op: "replace", path: "/-", value: 0 }], "path_not_found", 0],
    ["huge index", [1], [{ op: "remove", path: "/99999999999999999999" }], "path_not_found", 0],
    ["missing parent", {}, [{ op: "add", path: "/a/b", value: 1 }], "path_not_found", 0],
    ["through a primitive", { a: 1 }, [{ op: "add", path: "/a/b", value: 1 }], "path_not_found", 0],
    ["through null", { a: null }, [{ op: "add", path: "/a/b", value: 1 }], "path_not_found", 0],
    ["replace missing", {}, [{ op: "replace", path: "/a", value: 1 }], "path_not_found", 0],
    ["remove root", {}, [{ op: "remove", path: "" }], "invalid_operation", 0],
    [
      "move into own child",
      { a: {} },
      [{ op: "move", from: "/a", path: "/a/b" }],
      "invalid_operation",
      0,
    ],
    [
      "move root into child",
      { a: {} },
      [{ op: "move", from: "", path: "/a" }],
      "invalid_operation",
      0,
    ],
    ["move missing", {}, [{ op: "move", from: "/a", path: "/b" }], "path_not_found", 0],
    ["test differs", { a: 1 }, [{ op: "test", path: "/a", value: "1" }], "test_failed", 0],
    [
      "second op fails",
      { a: 1 },
      [
        { op: "replace", path: "/a", value: 2 },
        { op: "remove", path: "/b" },
      ],
      "path_not_found",
      1,
    ],
  ];

  for (const [name, doc, operations, kind, index] of cases) {
    it(`${name}: ${kind} at ${index}`, () => {
      const frozenDoc = deepFreeze(doc);
      const error = failure(frozenDoc, deepFreeze(operations));
      expect(error).toBeInstanceOf(LenraPatchError);
      expect(error.code).toBe("LENRA_PATCH_FAILED");
      expect(error.failure).toBe(kind);
      expect(error.index).toBe(index);
      expect(error.operation).toBe(index >= 0 ? (operations as unknown[])[index] : operations);
    });
  }

  it("names the operation, its index and its path, but never a value", () => {
    const error = failure({ a: { secret: "hunter2" } }, [
      { op: "test", path: "/a/secret", value: "hunter2" },
      { op: "replace", path: "/a/missing", value: "s3cr3t-value" },
    ]);
    expect(error.message).toContain("operation 1");
    expect(error.message).toContain("replace");
    expect(error.message).toContain('"/a/missing"');
    expect(error.message).not.toContain("s3cr3t-value");
    expect(error.message).not.toContain("hunter2");
    const test = failure({ a: "hunter2" }, [{ op: "test", path: "/a", value: "s3cr3t" }]);
    expect(test.message).not.toMatch(/hunter2|s3cr3t/);
  });

  it("applies nothing when a late operation fails", () => {
    const doc = deepFreeze({ list: [1, 2, 3], a: { b: 1 } });
    const error = failure(doc, [
      { op: "remove", path: "/list/0" },
      { op: "replace", path: "/a/b", value: 2 },
      { op: "add", path: "/a/c", value: 3 },
      { op: "test", path: "/a/b", value: 99 },
    ]);
    expect(error.index).toBe(3);
    expect(doc).toStrictEqual({ list: [1, 2, 3], a: { b: 1 } });
  });
});

describe("applyPatch structural sharing", () => {
  it("copies only the containers on the touched path", () => {
    const doc = deepFreeze({
      items: [
        { id: 1, tags: ["a"] },
        { id: 2, tags: ["b"] },
      ],
      meta: { count: 2 },
    });
    const next = applyPatch(doc, [{ op: "replace", path: "/items/1/id", value: 3 }]);
    expect(next).not.toBe(doc);
    expect(next.items).not.toBe(doc.items);
    expect(next.items[1]).not.toBe(doc.items[1]);
    expect(next.items[0]).toBe(doc.items[0]);
    expect(next.items[1]!.tags).toBe(doc.items[1]!.tags);
    expect(next.meta).toBe(doc.meta);
  });

  it("returns the same document for an empty patch or a patch of tests", () => {
    const doc = { a: [1] };
    expect(applyPatch(doc, [])).toBe(doc);
    expect(applyPatch(doc, [{ op: "test", path: "/a/0", value: 1 }])).toBe(doc);
  });

  it("inserts values from the operations without copying, and never writes into them", () => {
    const value = deepFreeze({ b: { c: 1 } });
    const operations = deepFreeze([
      { op: "add", path: "/a", value },
      { op: "add", path: "/a/b/d", value: 2 },
      { op: "add", path: "/same", value },
    ] as const);
    const next = applyPatch({} as Record<string, unknown>, operations as never);
    expect(next).toStrictEqual({ a: { b: { c: 1, d: 2 } }, same: { b: { c: 1 } } });
    expect(next.same).toBe(value);
  });

  it("copies an array once for a thousand operations on it", () => {
    // Every array copy made with slice() goes through the species constructor: count them.
    let constructed = 0;
    class CountingArray<T> extends Array<T> {
      constructor(...args: number[]) {
        super(...(args as []));
        constructed++;
      }
    }
    const items = CountingArray.from(
      Array.from({ length: 2000 }, (_, i) => ({ id: i, done: false })),
    );
    const doc = deepFreeze({ items, meta: { n: 0 } });
    constructed = 0;
    const operations: JsonPatchOperation[] = [];
    for (let i = 0; i < 1000; i++) {
      const at = (i * 7) % 1000;
      operations.push({ op: "add", path: `/items/${at}/done`, value: true });
      if (i % 3 === 0) operations.push({ op: "replace", path: `/items/${i}`, value: { id: i } });
      // Interleaved writes elsewhere, so nothing but ownership tells the array was copied.
      if (i % 2 === 0) operations.push({ op: "replace", path: "/meta/n", value: i });
    }
    const next = applyPatch(doc, operations);
    expect(constructed).toBe(1);
    expect(next.items).toBeInstanceOf(CountingArray);
    expect(next.items[1999]).toBe(doc.items[1999]);
    const expected = referenceApply({ items: [...items], meta: { n: 0 } }, operations);
    expect(expected.ok).toBe(true);
    if (expected.ok) assertSameJson({ ...next, items: [...next.items] }, expected.doc);
  });

  it("keeps a copy of a container written in this patch apart from its original", () => {
    const doc = deepFreeze({ a: { n: 1, deep: { m: 1 } } });
    const next = applyPatch(doc, [
      { op: "replace", path: "/a/deep/m", value: 2 },
      { op: "copy", from: "/a", path: "/b" },
      { op: "replace", path: "/b/deep/m", value: 3 },
      { op: "replace", path: "/a/n", value: 4 },
      { op: "copy", from: "/a", path: "/a/self" },
      { op: "replace", path: "/a/self/n", value: 5 },
    ]) as Record<string, Record<string, unknown>>;
    expect(next).toStrictEqual({
      a: { n: 4, deep: { m: 2 }, self: { n: 5, deep: { m: 2 } } },
      b: { n: 1, deep: { m: 3 } },
    });
    expect(doc).toStrictEqual({ a: { n: 1, deep: { m: 1 } } });
  });

  it("keeps moved containers writable once and the source untouched", () => {
    const doc = deepFreeze({ from: { list: [1] }, to: {} });
    const next = applyPatch(doc, [
      { op: "add", path: "/from/list/-", value: 2 },
      { op: "move", from: "/from/list", path: "/to/list" },
      { op: "add", path: "/to/list/-", value: 3 },
    ]);
    expect(next).toStrictEqual({ from: {}, to: { list: [1, 2, 3] } });
  });
});
