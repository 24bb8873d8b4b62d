import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LenraPatchError } from "../src/errors.ts";
import { createHydrator, isListener, isListenerObject } from "../src/listener.ts";
import { applyPatch, type JsonPatchOperation } from "../src/patch.ts";
import { deepFreeze, drawPatch, jsonArb } from "./support/arbitraries.ts";
import { assertSameJson, clone, referenceApply } from "./support/reference-patch.ts";

type Mode = "plain" | "listeners" | "dense";

const caseArb = (mode: Mode) =>
  fc
    .tuple(jsonArb(mode), fc.gen())
    .map(([doc, g]) => [doc, drawPatch(g, doc, mode, (d, op) => referenceApply(d, [op]))] as const);

function outcome(run: () => unknown): ReturnType<typeof referenceApply> {
  try {
    return { ok: true, doc: run() };
  } catch (error) {
    if (!(error instanceof LenraPatchError)) throw error;
    return { ok: false, index: error.index, failure: error.failure };
  }
}

describe("applyPatch against a naive reference applier", () => {
  it("gives the same document or the same failure, never touching its inputs", () => {
    let successes = 0;
    let failures = 0;
    fc.assert(
      fc.property(caseArb("plain"), ([doc, patch]) => {
        const expected = referenceApply(doc, patch);
        const docBefore = clone(doc);
        const patchBefore = clone(patch);
        // Frozen inputs: any write into them throws a TypeError (modules are strict).
        const actual = outcome(() =>
          applyPatch(deepFreeze(doc), deepFreeze(patch) as JsonPatchOperation[]),
        );
        if (actual.ok && expected.ok) assertSameJson(actual.doc, expected.doc);
        else expect(actual).toStrictEqual(expected);
        assertSameJson(doc, docBefore);
        assertSameJson(patch, patchBefore);
        if (actual.ok) successes++;
        else failures++;
      }),
      { numRuns: 3000 },
    );
    // The generators must exercise both outcomes, or the comparison proves little.
    expect(successes).toBeGreaterThan(300);
    expect(failures).toBeGreaterThan(300);
  });

  it("is all or nothing: a failing patch changes nothing, and its valid prefix still applies", () => {
    fc.assert(
      fc.property(caseArb("plain"), ([doc, patch]) => {
        const frozen = deepFreeze(doc);
        const result = outcome(() => applyPatch(frozen, patch as JsonPatchOperation[]));
        if (result.ok) return;
        const prefix = outcome(() =>
          applyPatch(frozen, patch.slice(0, result.index) as JsonPatchOperation[]),
        );
        const expected = referenceApply(doc, patch.slice(0, result.index));
        expect(prefix.ok && expected.ok).toBe(true);
        if (prefix.ok && expected.ok) assertSameJson(prefix.doc, expected.doc);
      }),
      { numRuns: 1000 },
    );
  });

  it("returns the very same document for a patch of passing tests", () => {
    fc.assert(
      fc.property(jsonArb("plain"), (doc) => {
        const patch = [{ op: "test" as const, path: "", value: clone(doc) }];
        expect(applyPatch(doc, patch)).toBe(doc);
      }),
    );
  });
});

/** Checks that the hydrated document is exactly the hydration of `json`. */
function expectHydrationOf(hydrated: unknown, json: unknown): void {
  if (isListenerObject(json)) {
    expect(isListener(hydrated)).toBe(true);
    const listener = hydrated as ReturnType<typeof createHydrator> & {
      toJSON(): unknown;
      code: string;
    };
    // Inside a listener everything stays raw JSON.
    assertSameJson(listener.toJSON(), json);
    expect(listener.code).toBe(json.code);
    return;
  }
  expect(isListener(hydrated)).toBe(false);
  if (Array.isArray(json)) {
    expect(Array.isArray(hydrated)).toBe(true);
    expect((hydrated as unknown[]).length).toBe(json.length);
    json.forEach((item, i) => {
      expectHydrationOf((hydrated as unknown[])[i], item);
    });
  } else if (typeof json === "object" && json !== null) {
    expect(Object.getPrototypeOf(hydrated)).toBe(Object.prototype);
    expect(Object.keys(hydrated as object).sort()).toStrictEqual(Object.keys(json).sort());
    for (const [key, member] of Object.entries(json)) {
      expectHydrationOf((hydrated as Record<string, unknown>)[key], member);
    }
  } else {
    expect(hydrated).toBe(json);
  }
}

describe("hydrator.patch against the reference applier on the JSON", () => {
  for (const mode of ["listeners", "dense"] as const) {
    it(`hydrates exactly the reference result, or fails the same way (${mode} documents)`, () => {
      let successes = 0;
      fc.assert(
        fc.property(caseArb(mode), fc.integer({ min: 1, max: 3 }), ([doc, patch], rounds) => {
          const hydrator = createHydrator(async () => {});
          let json = doc;
          let hydrated = hydrator.replace(deepFreeze(doc));
          expectHydrationOf(hydrated, json);
          // The same patch again and again: later rounds start from patched documents.
          for (let round = 0; round < rounds; round++) {
            const expected = referenceApply(json, patch);
            const actual = outcome(() => hydrator.patch(hydrated, deepFreeze(patch)));
            if (!expected.ok || !actual.ok) {
              expect(actual).toStrictEqual(expected);
              return;
            }
            successes++;
            expectHydrationOf(actual.doc, expected.doc);
            json = expected.doc;
            hydrated = deepFreeze(actual.doc);
          }
        }),
        { numRuns: 2000 },
      );
      expect(successes).toBeGreaterThan(300);
    });
  }
});

describe("applyPatch on arrays written many times in one patch", () => {
  // Long patches of inserts, removals, moves and copies inside arrays of objects, with writes
  // into the items between them: the slot bookkeeping of owned arrays must follow every shift.
  const itemArb = fc.record(
    { id: fc.integer({ min: 0, max: 9 }), tags: fc.array(fc.integer(), { maxLength: 2 }) },
    { noNullPrototype: true },
  );
  const docArb = fc.record(
    { a: fc.array(itemArb, { maxLength: 6 }), b: fc.array(itemArb, { maxLength: 3 }) },
    { noNullPrototype: true },
  );
  const index = fc.constantFrom("0", "1", "2", "3", "-");
  const list = fc.constantFrom("/a", "/b");
  const where = fc.tuple(list, index).map(([l, i]) => `${l}/${i}`);
  const opArb = fc.oneof(
    fc.record(
      { op: fc.constant("replace"), path: where.map((p) => `${p}/id`), value: fc.integer() },
      { noNullPrototype: true },
    ),
    fc.record(
      { op: fc.constant("add"), path: where.map((p) => `${p}/tags/-`), value: fc.integer() },
      { noNullPrototype: true },
    ),
    fc.record({ op: fc.constant("add"), path: where, value: itemArb }, { noNullPrototype: true }),
    fc.record({ op: fc.constant("remove"), path: where }, { noNullPrototype: true }),
    fc.record(
      { op: fc.constant("replace"), path: where, value: itemArb },
      { noNullPrototype: true },
    ),
    fc.record({ op: fc.constant("move"), from: where, path: where }, { noNullPrototype: true }),
    fc.record({ op: fc.constant("copy"), from: where, path: where }, { noNullPrototype: true }),
    fc.record(
      { op: fc.constant("copy"), from: list, path: fc.constantFrom("/c", "/a/0/tags/-") },
      { noNullPrototype: true },
    ),
  );
  const caseArb = fc.tuple(docArb, fc.gen()).map(([doc, g]) => {
    const patch: unknown[] = [];
    let current: unknown = doc;
    const length = g(fc.integer, { min: 1, max: 40 });
    for (let i = 0; i < length; i++) {
      const op = g(() => opArb);
      const result = referenceApply(current, [op]);
      // Keep only operations that apply, so long patches reach deep states.
      if (result.ok) {
        patch.push(op);
        current = result.doc;
      }
    }
    return [doc, patch] as const;
  });

  it("matches the reference and leaves the input alone", () => {
    fc.assert(
      fc.property(caseArb, ([doc, patch]) => {
        const expected = referenceApply(doc, patch);
        const before = clone(doc);
        const actual = outcome(() =>
          applyPatch(deepFreeze(doc), deepFreeze(patch) as JsonPatchOperation[]),
        );
        expect(actual.ok && expected.ok).toBe(true);
        if (actual.ok && expected.ok) assertSameJson(actual.doc, expected.doc);
        assertSameJson(doc, before);
      }),
      { numRuns: 1500 },
    );
  });
});
