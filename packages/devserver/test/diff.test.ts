import fc from "fast-check";
import jsonPatch, { type Operation } from "fast-json-patch";
import { describe, expect, it } from "vitest";
import { diffDocuments } from "../src/lenra/diff.ts";
import type { JsonValue } from "../src/shared/json.ts";

// The property tests of the dev server's diff: whatever two documents, applying the patch to
// the first (with fast-json-patch, validating every operation) gives the second, the inputs
// stay untouched, and the patch is never longer than replacing the whole document.

/** Keys that stress RFC 6901 escapes and array-looking names. */
const keyArb = fc.constantFrom(
  "a",
  "b",
  "c",
  "0",
  "1",
  "-",
  "",
  "~",
  "/",
  "~1",
  "a/b",
  "_id",
  "code",
);
const idArb = fc.constantFrom<JsonValue>("x", "y", "z", "w", 1, 2);
const leafArb = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom("s", "t", ""),
  fc.boolean(),
  fc.constant(null),
);

/**
 * JSON values, with arrays of items keyed by `_id` (from a small pool, so keys repeat) next to
 * items without one, and plain arrays and objects.
 */
const { value: jsonArb } = fc.letrec<{ value: JsonValue; item: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leafArb,
    fc.array(tie("value"), { maxLength: 4 }),
    fc.array(tie("item"), { maxLength: 6 }),
    fc.dictionary(keyArb, tie("value"), { maxKeys: 4, noNullPrototype: true }),
  ),
  item: fc.oneof(
    fc.record({ _id: idArb, v: tie("value") }, { noNullPrototype: true }),
    fc.record({ _id: idArb, v: tie("value") }, { noNullPrototype: true }),
    fc.record({ v: tie("value") }, { noNullPrototype: true }),
    leafArb,
  ),
}));

type Edit =
  | { kind: "set"; at: number[]; value: JsonValue }
  | { kind: "insert"; at: number[]; value: JsonValue }
  | { kind: "remove"; at: number[] }
  | { kind: "move"; at: number[]; to: number };

const editArb: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({
    kind: fc.constant("set" as const),
    at: fc.array(fc.nat(9), { maxLength: 4 }),
    value: jsonArb,
  }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.array(fc.nat(9), { minLength: 1, maxLength: 4 }),
    value: jsonArb,
  }),
  fc.record({
    kind: fc.constant("remove" as const),
    at: fc.array(fc.nat(9), { minLength: 1, maxLength: 4 }),
  }),
  fc.record({
    kind: fc.constant("move" as const),
    at: fc.array(fc.nat(9), { minLength: 1, maxLength: 4 }),
    to: fc.nat(9),
  }),
);

/**
 * Applies `edit` without changing `doc`: only the containers on the edited path are copied, so
 * the result shares every other part with `doc` by identity, as the dev server's renders do.
 * `at` picks children by index, modulo each container's size.
 */
function applyEdit(doc: JsonValue, edit: Edit, depth = 0): JsonValue {
  if (edit.kind === "set" && depth >= edit.at.length) return edit.value;
  if (typeof doc !== "object" || doc === null) return doc;
  const pick = edit.at[depth] ?? 0;
  // Insert, remove and move act in the container their path's last index picks in.
  const here = edit.kind !== "set" && depth >= edit.at.length - 1;
  if (Array.isArray(doc)) {
    const copy = [...doc];
    if (here && edit.kind === "insert") {
      copy.splice(pick % (doc.length + 1), 0, edit.value);
      return copy;
    }
    if (doc.length === 0) return doc;
    const index = pick % doc.length;
    if (here && edit.kind === "remove") copy.splice(index, 1);
    else if (here && edit.kind === "move") {
      const [moved] = copy.splice(index, 1);
      copy.splice(edit.to % (copy.length + 1), 0, moved as JsonValue);
    } else copy[index] = applyEdit(doc[index] as JsonValue, edit, depth + 1);
    return copy;
  }
  const keys = Object.keys(doc);
  const copy = { ...doc };
  if (here && edit.kind === "insert") {
    copy[`k${pick}`] = edit.value;
    return copy;
  }
  if (keys.length === 0) return doc;
  const key = keys[pick % keys.length] as string;
  if (here && edit.kind === "remove") delete copy[key];
  else if (here && edit.kind === "move") {
    // Objects have no order that matters: a key moved to the end is the same object.
    const moved = copy[key] as JsonValue;
    delete copy[key];
    copy[key] = moved;
  } else copy[key] = applyEdit(doc[key] as JsonValue, edit, depth + 1);
  return copy;
}

/** A document and another: either edited from it (sharing parts), or unrelated. */
const pairArb = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(jsonArb, fc.array(editArb, { minLength: 1, maxLength: 5 }))
      .map(([doc, edits]) => [doc, edits.reduce(applyEdit, doc)] as const),
  },
  { weight: 1, arbitrary: fc.tuple(jsonArb, jsonArb) },
);

function check(before: JsonValue, after: JsonValue): void {
  const beforeText = JSON.stringify(before);
  const afterText = JSON.stringify(after);
  const patch = diffDocuments(before, after);
  // The inputs are left as they were.
  expect(JSON.stringify(before)).toBe(beforeText);
  expect(JSON.stringify(after)).toBe(afterText);
  const applied = jsonPatch.applyPatch(
    structuredClone(before),
    structuredClone(patch) as Operation[],
    true,
    false,
  ).newDocument;
  expect(applied).toEqual(after);
  if (beforeText === afterText) expect(patch).toEqual([]);
  // Never larger than replacing the whole document.
  expect(JSON.stringify(patch).length).toBeLessThanOrEqual(
    JSON.stringify([{ op: "replace", path: "", value: after }]).length,
  );
}

describe("diffDocuments, for random documents and edits", () => {
  it("gives a patch that turns the first document into the second, never larger than replacing it", () => {
    fc.assert(
      fc.property(pairArb, ([before, after]) => check(before, after)),
      { numRuns: 3000 },
    );
  });

  it("matches keyed items, with repeated or missing keys, and items moved anywhere", () => {
    const listArb = fc.array(
      fc.oneof(
        fc.record({ _id: idArb, v: leafArb }, { noNullPrototype: true }),
        fc.record({ v: leafArb }, { noNullPrototype: true }),
      ),
      { maxLength: 8 },
    );
    fc.assert(
      fc.property(listArb, fc.array(editArb, { maxLength: 6 }), (items, edits) => {
        const before = { items } as JsonValue;
        check(before, edits.reduce(applyEdit, before));
      }),
      { numRuns: 3000 },
    );
  });
});

describe("diffDocuments, by example", () => {
  const items = (ids: string[]) =>
    ids.map((id) => ({ _id: id, title: `T${id}`, on: { code: id } }));

  it("touches only what changed", () => {
    const before = { a: { b: 1, c: [1, 2, 3] }, d: "same" };
    const after = { a: { b: 2, c: [1, 2, 3] }, d: "same" };
    expect(diffDocuments(before, after)).toEqual([{ op: "replace", path: "/a/b", value: 2 }]);
  });

  it("inserts, removes and moves keyed items with one operation each, wherever they are", () => {
    const list = items(Array.from({ length: 1000 }, (_, i) => String(i)));
    const [head] = items(["new"]);
    expect(diffDocuments({ list }, { list: [head as JsonValue, ...list] })).toEqual([
      { op: "add", path: "/list/0", value: head },
    ]);
    expect(diffDocuments({ list }, { list: list.filter((_, i) => i !== 500) })).toEqual([
      { op: "remove", path: "/list/500" },
    ]);
    const moved = [...list];
    moved.splice(10, 0, ...moved.splice(900, 1));
    expect(diffDocuments({ list }, { list: moved })).toEqual([
      { op: "move", from: "/list/900", path: "/list/10" },
    ]);
    // A moved item that also changed: moved, then patched in place.
    const changed = [...moved];
    changed[10] = { ...(changed[10] as (typeof list)[number]), title: "Changed" };
    expect(diffDocuments({ list }, { list: changed })).toEqual([
      { op: "move", from: "/list/900", path: "/list/10" },
      { op: "replace", path: "/list/10/title", value: "Changed" },
    ]);
  });

  it("never sends more than replacing the value it changes", () => {
    // Every item changed: replacing the list is shorter than patching each one.
    const before = { list: [1, 2, 3, 4, 5, 6] };
    const after = { list: [7, 8, 9, 10, 11, 12] };
    expect(diffDocuments(before, after)).toEqual([
      { op: "replace", path: "/list", value: after.list },
    ]);
  });

  it("is empty for equal documents, and replaces the root when its kind changes", () => {
    expect(diffDocuments({ a: [1, { b: null }] }, { a: [1, { b: null }] })).toEqual([]);
    expect(diffDocuments({ a: 1 }, [1])).toEqual([{ op: "replace", path: "", value: [1] }]);
    expect(diffDocuments([1], { x: 1 })).toEqual([{ op: "replace", path: "", value: { x: 1 } }]);
    expect(diffDocuments(1, 2)).toEqual([{ op: "replace", path: "", value: 2 }]);
    expect(diffDocuments("a", "a")).toEqual([]);
  });

  it("escapes keys as RFC 6901 says", () => {
    const rest = "a value long enough that replacing the whole document would cost more";
    expect(diffDocuments({ "a/b": 1, "~": 1, rest }, { "a/b": 2, "~": 2, rest })).toEqual([
      { op: "replace", path: "/a~1b", value: 2 },
      { op: "replace", path: "/~0", value: 2 },
    ]);
  });
});
