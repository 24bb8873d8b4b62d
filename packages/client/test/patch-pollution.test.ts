import { afterEach, describe, expect, it } from "vitest";
import { LenraPatchError } from "../src/errors.ts";
import { createHydrator } from "../src/listener.ts";
import { applyPatch, type JsonPatchOperation } from "../src/patch.ts";

const objectPrototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();
const originalAssign = Object.assign;
const originalToString = Object.prototype.toString;
const originalHasOwnProperty = Object.prototype.hasOwnProperty;

function expectPrototypesUntouched(): void {
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toStrictEqual(objectPrototypeKeys);
  expect(Object.assign).toBe(originalAssign);
  expect(Object.prototype.toString).toBe(originalToString);
  expect(Object.prototype.hasOwnProperty).toBe(originalHasOwnProperty);
  expect({} as Record<string, unknown>).not.toHaveProperty("polluted");
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(([] as unknown as Record<string, unknown>).polluted).toBeUndefined();
  expect((Object as unknown as Record<string, unknown>).polluted).toBeUndefined();
  expect((Function.prototype as unknown as Record<string, unknown>).polluted).toBeUndefined();
}

/** Either throws a LenraPatchError or returns a result whose every object is plain. */
function applyHarmlessly(doc: unknown, operations: unknown[]): unknown {
  let result: unknown;
  try {
    result = applyPatch(doc, operations as JsonPatchOperation[]);
  } catch (error) {
    expect(error).toBeInstanceOf(LenraPatchError);
    return undefined;
  }
  const check = (value: unknown): void => {
    if (typeof value !== "object" || value === null) return;
    const proto = Object.getPrototypeOf(value);
    expect(proto === Object.prototype || proto === Array.prototype).toBe(true);
    for (const member of Object.values(value)) check(member);
  };
  check(result);
  return result;
}

// A document decoded from the wire can hold an own "__proto__" member.
const wire = () => JSON.parse('{"a": {}, "list": [{}], "__proto__": {"x": 1}}') as object;

const attacks: [string, () => unknown, JsonPatchOperation[]][] = [
  ["add /__proto__/polluted", () => ({}), [{ op: "add", path: "/__proto__/polluted", value: 1 }]],
  [
    "replace /__proto__",
    () => ({}),
    [{ op: "replace", path: "/__proto__", value: { polluted: 1 } }],
  ],
  ["add /__proto__", () => ({}), [{ op: "add", path: "/__proto__", value: { polluted: 1 } }]],
  [
    "nested /a/__proto__/polluted",
    () => ({ a: {} }),
    [{ op: "add", path: "/a/__proto__/polluted", value: 1 }],
  ],
  [
    "through an array /list/0/__proto__",
    () => ({ list: [{}] }),
    [{ op: "add", path: "/list/0/__proto__/polluted", value: 1 }],
  ],
  [
    "/constructor/prototype/polluted",
    () => ({}),
    [{ op: "add", path: "/constructor/prototype/polluted", value: 1 }],
  ],
  [
    "/a/constructor/prototype/polluted",
    () => ({ a: {} }),
    [{ op: "add", path: "/a/constructor/prototype/polluted", value: 1 }],
  ],
  [
    "replace /constructor/assign",
    () => ({}),
    [{ op: "replace", path: "/constructor/assign", value: 1 }],
  ],
  ["replace /toString", () => ({}), [{ op: "replace", path: "/toString", value: "x" }]],
  ["remove /hasOwnProperty", () => ({}), [{ op: "remove", path: "/hasOwnProperty" }]],
  [
    "add /hasOwnProperty/polluted",
    () => ({}),
    [{ op: "add", path: "/hasOwnProperty/polluted", value: 1 }],
  ],
  [
    "/list/constructor/prototype",
    () => ({ list: [] }),
    [{ op: "add", path: "/list/constructor/prototype/polluted", value: 1 }],
  ],
  ["move from /__proto__", () => ({}), [{ op: "move", from: "/__proto__", path: "/stolen" }]],
  ["copy from /__proto__", () => ({}), [{ op: "copy", from: "/__proto__", path: "/stolen" }]],
  ["copy from /constructor", () => ({}), [{ op: "copy", from: "/constructor", path: "/stolen" }]],
  [
    "move into /__proto__",
    () => ({ a: { polluted: 1 } }),
    [{ op: "move", from: "/a", path: "/__proto__" }],
  ],
  [
    "copy into /a/__proto__",
    () => ({ a: {}, b: { polluted: 1 } }),
    [{ op: "copy", from: "/b", path: "/a/__proto__" }],
  ],
  ["test /__proto__", () => ({}), [{ op: "test", path: "/__proto__", value: {} }]],
  [
    "value with an own __proto__ member",
    () => ({}),
    [{ op: "add", path: "/a", value: JSON.parse('{"__proto__": {"polluted": 1}}') }],
  ],
  [
    "then writing inside it",
    () => ({}),
    [
      { op: "add", path: "/a", value: JSON.parse('{"__proto__": {"polluted": 1}, "b": {}}') },
      { op: "add", path: "/a/b/c", value: 1 },
    ],
  ],
  [
    "document with an own __proto__, written beside it",
    wire,
    [
      { op: "add", path: "/a/b", value: 1 },
      { op: "add", path: "/list/0/polluted", value: 1 },
      { op: "copy", from: "/a", path: "/c" },
    ],
  ],
  [
    "document with an own __proto__, addressed",
    wire,
    [{ op: "add", path: "/__proto__/polluted", value: 1 }],
  ],
  ["escaped __proto__ stays a key", () => ({}), [{ op: "add", path: "/__proto~1__", value: 1 }]],
];

describe("prototype pollution", () => {
  afterEach(expectPrototypesUntouched);

  it("has at least ten attacks", () => {
    expect(attacks.length).toBeGreaterThanOrEqual(10);
  });

  for (const [name, doc, operations] of attacks) {
    it(`is harmless: ${name}`, () => {
      applyHarmlessly(doc(), operations);
      expectPrototypesUntouched();
    });

    it(`is harmless through a hydrator: ${name}`, () => {
      const hydrator = createHydrator(async () => {});
      const hydrated = hydrator.replace(doc());
      try {
        hydrator.patch(hydrated, operations);
      } catch (error) {
        expect(error).toBeInstanceOf(LenraPatchError);
      }
      expectPrototypesUntouched();
    });
  }

  it("refuses every __proto__ segment with forbidden_path", () => {
    for (const path of ["/__proto__", "/a/__proto__", "/__proto__/x", "/list/0/__proto__/y"]) {
      for (const op of [
        { op: "add", path, value: 1 },
        { op: "remove", path },
        { op: "replace", path, value: 1 },
        { op: "test", path, value: 1 },
        { op: "move", from: path, path: "/x" },
        { op: "copy", from: "/a", path },
      ]) {
        let error: unknown;
        try {
          applyPatch({ a: {}, list: [{}] }, [op as JsonPatchOperation]);
        } catch (caught) {
          error = caught;
        }
        expect(error).toBeInstanceOf(LenraPatchError);
        expect((error as LenraPatchError).failure).toBe("forbidden_path");
      }
    }
  });

  it("reads only own members: inherited names are not found", () => {
    for (const path of [
      "/constructor",
      "/toString",
      "/hasOwnProperty",
      "/valueOf",
      "/a/constructor",
    ]) {
      let error: unknown;
      try {
        applyPatch({ a: {} }, [{ op: "test", path, value: null }]);
      } catch (caught) {
        error = caught;
      }
      expect((error as LenraPatchError).failure).toBe("path_not_found");
    }
  });

  it("keeps own __proto__ members as plain data when copying around them", () => {
    const doc = wire() as Record<string, unknown>;
    const next = applyPatch(doc, [
      { op: "add", path: "/a/b", value: 1 },
      { op: "add", path: "/a2", value: JSON.parse('{"__proto__": {"y": 2}}') },
      { op: "add", path: "/a2/z", value: 3 },
    ]) as Record<string, unknown>;
    expect(Object.getPrototypeOf(next)).toBe(Object.prototype);
    expect(Object.hasOwn(next, "__proto__")).toBe(true);
    expect(Object.getOwnPropertyDescriptor(next, "__proto__")?.value).toStrictEqual({ x: 1 });
    const a2 = next.a2 as Record<string, unknown>;
    expect(Object.getPrototypeOf(a2)).toBe(Object.prototype);
    expect(Object.hasOwn(a2, "__proto__")).toBe(true);
    expect(a2.z).toBe(3);
    expect(JSON.stringify(next)).toBe(
      '{"a":{"b":1},"list":[{}],"__proto__":{"x":1},"a2":{"__proto__":{"y":2},"z":3}}',
    );
  });

  it("hydrates listeners under an own __proto__ member without touching prototypes", () => {
    const hydrator = createHydrator(async () => {});
    const doc = hydrator.replace(
      JSON.parse('{"__proto__": {"_type": "listener", "code": "c"}, "a": 1}'),
    ) as Record<string, unknown>;
    expect(Object.getPrototypeOf(doc)).toBe(Object.prototype);
    expect(typeof Object.getOwnPropertyDescriptor(doc, "__proto__")?.value).toBe("function");
    const next = hydrator.patch(doc, [
      {
        op: "add",
        path: "/b",
        value: JSON.parse('{"__proto__": {"_type": "listener", "code": "d"}}'),
      },
    ]) as Record<string, Record<string, unknown>>;
    expect(Object.getPrototypeOf(next.b)).toBe(Object.prototype);
    expect(typeof Object.getOwnPropertyDescriptor(next.b, "__proto__")?.value).toBe("function");
    expect(JSON.parse(JSON.stringify(next))).toStrictEqual(
      JSON.parse(
        '{"__proto__": {"_type": "listener", "code": "c"}, "a": 1, "b": {"__proto__": {"_type": "listener", "code": "d"}}}',
      ),
    );
  });
});
