import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ListenerCodec, listener } from "../src/app/listeners.ts";
import { encodeView } from "../src/app/view-encoder.ts";
import type { JsonValue } from "../src/shared/json.ts";

const codec = new ListenerCodec();
const encode = (value: unknown, previous?: JsonValue) =>
  encodeView(value, { codec, view: "test", previous });

/** What a view may return: JSON, and what JSON drops or converts on the way. */
const { value: answerArb } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.integer({ min: -3, max: 3 }),
    fc.constantFrom<unknown>(
      "s",
      "",
      true,
      null,
      undefined,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      () => 1,
      Symbol("s"),
      new Date(0),
      { toJSON: () => "converted" },
    ),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom("a", "b", "_id", "x/y", "~"), tie("value"), { maxKeys: 4 }),
    fc.array(
      fc.record(
        { _id: fc.constantFrom("p", "q", "r"), v: tie("value") },
        { noNullPrototype: true },
      ),
      { maxLength: 5 },
    ),
  ),
}));

/** Answers with listeners (named or not, with props or not, with other keys) among JSON. */
const { value: withListenersArb } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constantFrom<unknown>(1, "s", null, undefined, Number.NaN),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom("a", "b", "_id", "code"), tie("value"), { maxKeys: 3 }),
    fc.record(
      {
        _type: fc.constantFrom("listener", "listener", "view", "other"),
        name: fc.constantFrom<unknown>("add", "remove", undefined, 3),
        props: fc.oneof(
          fc.constant(undefined),
          fc.dictionary(fc.constantFrom("id", "n"), fc.constantFrom<unknown>(1, "x", undefined)),
          fc.constant("not an object"),
        ),
        label: tie("value"),
        navTo: fc.constantFrom<unknown>(undefined, "/somewhere"),
      },
      { requiredKeys: ["_type"] },
    ),
  ),
}));

/** What Lenra's JSON builder makes of an answer, written plainly: the reference. */
function reference(answer: unknown): unknown {
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (typeof value !== "object" || value === null) return value;
    const object = value as Record<string, unknown>;
    if (!Object.hasOwn(object, "_type")) {
      return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, walk(v)]));
    }
    if (object._type !== "listener") return object;
    if (typeof object.name !== "string") {
      return Object.hasOwn(object, "navTo") ? { navTo: object.navTo } : object;
    }
    const props =
      typeof object.props === "object" && object.props !== null && !Array.isArray(object.props)
        ? (object.props as never)
        : undefined;
    const others = Object.entries(object).filter(([k]) => !["name", "props", "type"].includes(k));
    return { ...Object.fromEntries(others), code: codec.code(object.name, props) };
  };
  return walk(JSON.parse(JSON.stringify(answer)));
}

describe("encodeView", () => {
  it("encodes listeners as Lenra's JSON builder does, whatever the previous document", () => {
    fc.assert(
      fc.property(withListenersArb, withListenersArb, (answer, other) => {
        fc.pre(JSON.stringify(answer) !== undefined && JSON.stringify(other) !== undefined);
        const expected = reference(answer);
        expect(encode(answer)).toEqual(expected);
        expect(encode(answer, encode(other))).toEqual(expected);
        const first = encode(answer);
        expect(encode(answer, first)).toBe(first);
        // Its listeners are found from the document, by code.
        for (const [code, target] of codec.tree(first).listeners()) {
          expect(codec.code(target.name, target.props)).toBe(code);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("gives what JSON makes of an answer, whatever the previous answer it compares with", () => {
    fc.assert(
      fc.property(answerArb, answerArb, (answer, other) => {
        fc.pre(JSON.stringify(answer) !== undefined);
        const expected = JSON.parse(JSON.stringify(answer));
        expect(encode(answer)).toEqual(expected);
        const previous = JSON.stringify(other) === undefined ? undefined : encode(other);
        expect(encode(answer, previous)).toEqual(expected);
        // The same answer again: the very same document.
        const first = encode(answer);
        expect(encode(answer, first)).toBe(first);
      }),
      { numRuns: 2000 },
    );
  });

  it("keeps every unchanged part of the previous document by identity, items matched by _id", () => {
    const answer = (titles: string[]) => ({
      header: { title: "List", onAdd: listener("add") },
      items: titles.map((title) => ({
        _id: title,
        title,
        onOpen: listener("open", { id: title }),
      })),
    });
    const before = encode(answer(["a", "b", "c"]));
    const after = encode(answer(["z", "a", "c"]), before);
    type List = { header: unknown; items: unknown[] };
    const [was, now] = [before as List, after as List];
    expect(now).not.toBe(was);
    expect(now.header).toBe(was.header);
    expect(now.items[1]).toBe(was.items[0]);
    expect(now.items[2]).toBe(was.items[2]);
    expect(now.items[0]).toEqual({
      _id: "z",
      title: "z",
      onOpen: { _type: "listener", code: codec.code("open", { id: "z" }) },
    });
  });

  it("refuses what JSON refuses: a cycle, a BigInt, no value at all", () => {
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = { back: cycle };
    expect(() => encode(cycle)).toThrow(TypeError);
    expect(() => encode({ big: 1n })).toThrow(TypeError);
    expect(() => encode(undefined)).toThrow(TypeError);
    // Deep is not a cycle.
    let deep: unknown = "bottom";
    for (let i = 0; i < 1000; i++) deep = { deep };
    expect(encode(deep)).toEqual(JSON.parse(JSON.stringify(deep)));
  });

  it("keeps a __proto__ key as data", () => {
    const answer = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}');
    const document = encode(answer) as Record<string, unknown>;
    expect(Object.getPrototypeOf(document)).toBe(Object.prototype);
    expect(Object.hasOwn(document, "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.stringify(document)).toBe('{"__proto__":{"polluted":true},"a":1}');
  });
});
