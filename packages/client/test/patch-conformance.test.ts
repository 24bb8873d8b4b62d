import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { LenraPatchError } from "../src/errors.ts";
import { createHydrator } from "../src/listener.ts";
import { applyPatch, type JsonPatchOperation } from "../src/patch.ts";

interface Case {
  comment?: string;
  doc?: unknown;
  patch?: JsonPatchOperation[];
  expected?: unknown;
  error?: string;
  disabled?: boolean;
}

// The suite lives beside the repository (/work/shared next to /work/main), in CI too.
function load(name: string): Case[] {
  const url = new URL(`../../../../shared/conformance/json-patch-tests/${name}`, import.meta.url);
  return JSON.parse(readFileSync(url, "utf8")) as Case[];
}

function active(cases: Case[]): Case[] {
  return cases.filter((c) => "patch" in c && c.disabled !== true);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}

const suites = [
  { file: "tests.json", records: 95, active: 92 },
  { file: "spec_tests.json", records: 17, active: 16 },
];

for (const suite of suites) {
  describe(`json-patch-tests ${suite.file}`, () => {
    const cases = load(suite.file);
    const runnable = active(cases);

    it(`has ${suite.active} active cases`, () => {
      expect(cases).toHaveLength(suite.records);
      expect(runnable).toHaveLength(suite.active);
      // Every active case says what must happen.
      for (const c of runnable) expect("expected" in c || "error" in c).toBe(true);
    });

    runnable.forEach((c, n) => {
      const name = `#${n} ${c.comment ?? c.error ?? JSON.stringify(c.patch)}`;
      it(name, () => {
        const doc = deepFreeze(structuredClone(c.doc));
        const patch = deepFreeze(structuredClone(c.patch!));
        if ("expected" in c) {
          expect(applyPatch(doc, patch)).toStrictEqual(c.expected);
        } else {
          expect(() => applyPatch(doc, patch)).toThrow(LenraPatchError);
        }
        expect(doc).toStrictEqual(c.doc);
      });

      // The hydrator shares the engine: on plain data it must behave the same.
      it(`${name} (through a hydrator)`, () => {
        const hydrator = createHydrator(async () => {});
        const doc = hydrator.replace(deepFreeze(structuredClone(c.doc)));
        if ("expected" in c) {
          expect(hydrator.patch(doc, c.patch)).toStrictEqual(c.expected);
        } else {
          expect(() => hydrator.patch(doc, c.patch)).toThrow(LenraPatchError);
        }
      });
    });
  });
}
