import { describe, expect, expectTypeOf, it, vi } from "vitest";
import { LenraPatchError } from "../src/errors.ts";
import {
  callListener,
  createHydrator,
  type Hydrated,
  isListener,
  type Listener,
  type ListenerObject,
} from "../src/listener.ts";
import type { JsonPatchOperation } from "../src/patch.ts";
import { deepFreeze } from "./support/arbitraries.ts";

type Doc = Record<string, unknown>;
const listener = (code: string, extra: Doc = {}) => ({ _type: "listener", code, ...extra });

function setup(json: unknown) {
  const call = vi.fn(async (_code: string, _event: unknown) => {});
  const hydrator = createHydrator(call);
  let doc = hydrator.replace(json);
  return {
    call,
    hydrator,
    get doc() {
      return doc as Doc;
    },
    patch(operations: JsonPatchOperation[]) {
      doc = hydrator.patch(doc, operations);
      return doc as Doc;
    },
  };
}

describe("hydration", () => {
  it("turns listener objects into callable, branded functions anywhere", () => {
    const view = setup({
      onA: listener("a"),
      rows: [[{ cells: [{ on: listener("deep", { more: 1 }) }] }]],
      plain: { _type: "view", code: "x" },
    });
    const doc = view.doc as {
      onA: Listener;
      rows: { cells: { on: Listener }[] }[][];
      plain: unknown;
    };
    expect(isListener(doc.onA)).toBe(true);
    expect(doc.onA.code).toBe("a");
    const deep = doc.rows[0]![0]!.cells[0]!.on;
    expect(isListener(deep)).toBe(true);
    expect(deep.toJSON()).toStrictEqual({ _type: "listener", code: "deep", more: 1 });
    expect(doc.plain).toStrictEqual({ _type: "view", code: "x" });
  });

  it("brands with a non-enumerable Symbol.for and keeps code read-only", () => {
    const view = setup({ on: listener("a"), other: listener("b") });
    const fn = view.doc.on as Listener;
    const brand = Symbol.for("lenra.listener");
    expect(typeof (fn as unknown as Record<symbol, unknown>)[brand]).toBe("function");
    // The members live on one prototype shared by every listener, not enumerable anywhere.
    const shared = Object.getPrototypeOf(fn);
    expect(Object.getPrototypeOf(view.doc.other)).toBe(shared);
    expect(Object.getOwnPropertyDescriptor(shared, brand)?.enumerable).toBe(false);
    expect(Object.getOwnPropertyDescriptor(shared, "toJSON")?.enumerable).toBe(false);
    expect(
      Reflect.ownKeys(fn).filter((key) => Object.getOwnPropertyDescriptor(fn, key)?.enumerable),
    ).toStrictEqual([]);
    expect({ ...fn }).toStrictEqual({});
    // Still a function in every way.
    expect(fn).toBeInstanceOf(Function);
    expect(fn.call).toBe(Function.prototype.call);
    expect(() => {
      (fn as { code: string }).code = "other";
    }).toThrow(TypeError);
    expect(fn.code).toBe("a");
    expect(isListener(() => Promise.resolve())).toBe(false);
    expect(isListener(listener("a"))).toBe(false);
    expect(isListener(null)).toBe(false);
  });

  it("gives the server's object back from toJSON and JSON.stringify", () => {
    const json = { on: listener("a", { label: "x" }), n: 1 };
    const view = setup(json);
    expect((view.doc.on as Listener).toJSON()).toBe(json.on);
    expect(JSON.parse(JSON.stringify(view.doc))).toStrictEqual(json);
  });

  it("treats a listener object as a leaf, and near-listeners as data", () => {
    const view = setup({
      outer: listener("o", { inner: listener("i") }),
      noCode: { _type: "listener", inner: listener("n") },
      numberCode: { _type: "listener", code: 3, inner: listener("m") },
      future: { _type: "button", on: listener("f") },
    });
    const doc = view.doc as Record<string, Record<string, unknown>>;
    expect((doc.outer as unknown as Listener).toJSON().inner).toStrictEqual(listener("i"));
    expect(isListener(doc.noCode!.inner)).toBe(true);
    expect(isListener(doc.numberCode!.inner)).toBe(true);
    expect(isListener(doc.future!.on)).toBe(true);
  });

  it("keeps __proto__, constructor and prototype members of a listener object as its data", () => {
    const json = JSON.parse(
      '{"on": {"_type": "listener", "code": "a", "__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 2}}, "prototype": {"polluted": 3}}}',
    );
    const fn = setup(json).doc.on as Listener;
    const shared = Object.getPrototypeOf(fn);
    expect(Object.getPrototypeOf(shared)).toBe(Function.prototype);
    expect(fn.toJSON()).toBe(json.on);
    expect(JSON.stringify({ on: fn })).toBe(JSON.stringify(json));
    // Nothing of the server's object reached the function or any prototype.
    expect(Object.hasOwn(fn, "constructor")).toBe(false);
    expect(fn.prototype).toBeUndefined();
    for (const prototype of [shared, Function.prototype, Object.prototype]) {
      expect("polluted" in prototype).toBe(false);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("never mutates the decoded payload it hydrates", () => {
    const json = deepFreeze({ list: [{ on: listener("a") }], other: { x: [1] } });
    const doc = createHydrator(async () => {}).replace(json) as typeof json;
    expect(doc).not.toBe(json);
    expect(doc.other).toBe(json.other);
    expect(json.list[0]!.on).toStrictEqual(listener("a"));
  });
});

describe("calling a listener", () => {
  it("calls with the code and the event, and resolves with the call", async () => {
    const view = setup({ on: listener("abc") });
    await (view.doc.on as Listener)({ value: 3 });
    expect(view.call).toHaveBeenCalledWith("abc", { value: 3 });
    await (view.doc.on as Listener)();
    expect(view.call).toHaveBeenLastCalledWith("abc", undefined);
    await (view.doc.on as Listener)("text");
    expect(view.call).toHaveBeenLastCalledWith("abc", "text");
  });

  it("drops DOM and React events", async () => {
    const view = setup({ on: listener("abc") });
    const fn = view.doc.on as Listener<unknown>;
    await fn(new Event("click"));
    expect(view.call).toHaveBeenLastCalledWith("abc", undefined);
    await fn({ nativeEvent: {}, target: {} });
    expect(view.call).toHaveBeenLastCalledWith("abc", undefined);
    await fn({ native: 1 });
    expect(view.call).toHaveBeenLastCalledWith("abc", { native: 1 });
  });

  it("hands options to the call through callListener", async () => {
    const view = setup({ on: listener("abc") });
    const fn = view.doc.on as Listener<unknown>;
    const optimistic = [{ op: "replace", path: "/n", value: 1 }] as const;
    await callListener(fn, { x: 1 }, { optimistic });
    expect(view.call).toHaveBeenLastCalledWith("abc", { x: 1 }, { optimistic });
    await callListener(fn, new Event("click"), {});
    expect(view.call).toHaveBeenLastCalledWith("abc", undefined, {});
    await expect(
      callListener((async () => {}) as unknown as Listener, undefined, {}),
    ).rejects.toThrow(TypeError);
  });

  it("returns a rejected promise when the call throws or rejects", async () => {
    const failing = createHydrator(() => {
      throw new Error("sync");
    }).replace({ on: listener("a") }) as Doc;
    await expect((failing.on as Listener)()).rejects.toThrow("sync");
    const rejecting = createHydrator(async () => {
      throw new Error("async");
    }).replace({ on: listener("a") }) as Doc;
    await expect((rejecting.on as Listener)()).rejects.toThrow("async");
  });
});

describe("identity across patches", () => {
  const initial = () => ({
    title: "t",
    onSave: listener("save"),
    items: [
      { id: 1, onToggle: listener("t1") },
      { id: 2, onToggle: listener("t2") },
    ],
  });

  it("keeps functions the patch does not touch", () => {
    const view = setup(initial());
    const before = view.doc as ReturnType<typeof initial> & Doc;
    const save = before.onSave;
    const t1 = before.items[0]!.onToggle;
    const t2 = before.items[1]!.onToggle;
    const after = view.patch([
      { op: "replace", path: "/title", value: "u" },
      { op: "add", path: "/items/0", value: { id: 0, onToggle: listener("t0") } },
      { op: "add", path: "/items/1/label", value: "sibling in the same object" },
      { op: "replace", path: "/items/2/id", value: 20 },
    ]) as ReturnType<typeof initial>;
    expect(after.onSave).toBe(save);
    expect(after.items[1]!.onToggle).toBe(t1);
    expect(after.items[2]!.onToggle).toBe(t2);
    expect(isListener(after.items[0]!.onToggle)).toBe(true);
  });

  it("keeps the function when the server sends the same listener object again", () => {
    const view = setup(initial());
    const t1 = (view.doc.items as { onToggle: unknown }[])[0]!.onToggle;
    const save = view.doc.onSave;
    const after = view.patch([
      { op: "replace", path: "/items/0", value: { id: 1, onToggle: listener("t1") } },
      { op: "replace", path: "/onSave/code", value: "save" },
    ]);
    expect((after.items as { onToggle: unknown }[])[0]!.onToggle).toBe(t1);
    expect(after.onSave).toBe(save);
  });

  it("makes a new function when the code changes, through the listener", async () => {
    const view = setup(initial());
    const old = view.doc.onSave as Listener;
    const after = view.patch([{ op: "replace", path: "/onSave/code", value: "new" }]);
    const fresh = after.onSave as Listener;
    expect(fresh).not.toBe(old);
    expect(fresh.code).toBe("new");
    expect(old.code).toBe("save");
    await fresh();
    expect(view.call).toHaveBeenLastCalledWith("new", undefined);
  });

  it("makes a new function when another member of the listener changes", () => {
    const view = setup({ on: listener("a", { meta: { n: 1 } }) });
    const old = view.doc.on as Listener;
    const after = view.patch([{ op: "replace", path: "/on/meta/n", value: 2 }]);
    expect(after.on).not.toBe(old);
    expect((after.on as Listener).toJSON()).toStrictEqual(listener("a", { meta: { n: 2 } }));
    expect(old.toJSON()).toStrictEqual(listener("a", { meta: { n: 1 } }));
  });

  it("turns a listener into data and back", () => {
    const view = setup({ on: listener("a", { inner: listener("i") }) });
    const first = view.doc.on as Listener;
    let doc = view.patch([{ op: "remove", path: "/on/code" }]);
    expect(isListener(doc.on)).toBe(false);
    expect(doc.on).toMatchObject({ _type: "listener" });
    // Once data, what it holds is hydrated.
    expect(isListener((doc.on as Doc).inner)).toBe(true);
    doc = view.patch([{ op: "add", path: "/on/code", value: "a" }]);
    expect(doc.on).toBe(first);
    doc = view.patch([{ op: "replace", path: "/on/_type", value: "view" }]);
    expect(isListener(doc.on)).toBe(false);
    doc = view.patch([{ op: "replace", path: "/on/_type", value: "listener" }]);
    expect(doc.on).toBe(first);
    doc = view.patch([{ op: "replace", path: "/on", value: 5 }]);
    expect(doc.on).toBe(5);
  });

  it("keeps raw JSON inside a listener made from data holding listeners", () => {
    const view = setup({ x: { _type: "listener", extra: listener("k1") } });
    const doc = view.patch([{ op: "add", path: "/x/code", value: "k2" }]);
    const x = doc.x as Listener;
    expect(isListener(x)).toBe(true);
    expect(x.toJSON()).toStrictEqual({ _type: "listener", extra: listener("k1"), code: "k2" });
    expect(isListener(x.toJSON().extra)).toBe(false);
  });

  it("compares listeners as their JSON in test operations", () => {
    const view = setup(initial());
    expect(() =>
      view.patch([
        { op: "test", path: "/onSave", value: listener("save") },
        { op: "test", path: "/onSave/code", value: "save" },
        { op: "test", path: "/items/0", value: { id: 1, onToggle: listener("t1") } },
      ]),
    ).not.toThrow();
    expect(() => view.patch([{ op: "test", path: "/onSave", value: listener("other") }])).toThrow(
      LenraPatchError,
    );
  });

  it("copies and moves listeners, and values through them", () => {
    const view = setup({ on: listener("a", { payload: { on: listener("inside") } }), list: [] });
    const on = view.doc.on as Listener;
    const doc = view.patch([
      { op: "copy", from: "/on", path: "/list/-" },
      { op: "move", from: "/on", path: "/moved" },
      { op: "copy", from: "/moved/payload", path: "/payload" },
      { op: "copy", from: "/payload", path: "/moved/payloadCopy" },
    ]) as Record<string, unknown> & { list: unknown[] };
    expect(doc.list[0]).toBe(on);
    expect(doc.moved).not.toBe(on);
    expect(isListener(doc.moved)).toBe(true);
    // Copied out of a listener, a value is hydrated; copied into one, it is raw again.
    expect(isListener((doc.payload as Doc).on)).toBe(true);
    expect((doc.moved as Listener).toJSON().payloadCopy).toStrictEqual({ on: listener("inside") });
    expect(JSON.parse(JSON.stringify(doc))).toStrictEqual({
      list: [listener("a", { payload: { on: listener("inside") } })],
      moved: listener("a", {
        payload: { on: listener("inside") },
        payloadCopy: { on: listener("inside") },
      }),
      payload: { on: listener("inside") },
    });
  });

  it("never lets two listeners share an object written in the same patch", () => {
    const view = setup({ on: listener("a", { meta: { n: 1 } }) });
    const doc = view.patch([
      { op: "replace", path: "/on/meta/n", value: 2 },
      { op: "copy", from: "/on", path: "/copy" },
      { op: "replace", path: "/on/meta/n", value: 3 },
      { op: "add", path: "/data", value: { _type: "listener", meta: { n: 1 } } },
      { op: "replace", path: "/data/meta/n", value: 2 },
      { op: "add", path: "/data/code", value: "d" },
      { op: "copy", from: "/data", path: "/dataCopy" },
      { op: "replace", path: "/data/meta/n", value: 3 },
    ]);
    expect(JSON.parse(JSON.stringify(doc))).toStrictEqual({
      on: listener("a", { meta: { n: 3 } }),
      copy: listener("a", { meta: { n: 2 } }),
      data: { _type: "listener", meta: { n: 3 }, code: "d" },
      dataCopy: { _type: "listener", meta: { n: 2 }, code: "d" },
    });
  });

  it("round-trips to the server's JSON after a series of patches", () => {
    const json: unknown = initial();
    const view = setup(json);
    const patches: JsonPatchOperation[][] = [
      [{ op: "add", path: "/items/-", value: { id: 3, onToggle: listener("t3") } }],
      [{ op: "replace", path: "/items/0/onToggle/code", value: "t1b" }],
      [{ op: "move", from: "/items/2", path: "/items/0" }],
      [{ op: "remove", path: "/onSave/code" }],
      [{ op: "add", path: "/onSave/code", value: "save2" }],
      [{ op: "copy", from: "/items/1", path: "/first" }],
      [{ op: "add", path: "/nested", value: [[{ deep: listener("d", { x: [1] }) }]] }],
      [{ op: "replace", path: "/nested/0/0/deep/x/0", value: 2 }],
    ];
    const expected = {
      title: "t",
      onSave: { _type: "listener", code: "save2" },
      items: [
        { id: 3, onToggle: listener("t3") },
        { id: 1, onToggle: listener("t1b") },
        { id: 2, onToggle: listener("t2") },
      ],
      first: { id: 1, onToggle: listener("t1b") },
      nested: [[{ deep: listener("d", { x: [2] }) }]],
    };
    for (const patch of patches) view.patch(patch);
    expect(JSON.parse(JSON.stringify(view.doc))).toStrictEqual(expected);
  });

  it("leaves the document and the cache untouched when a patch fails", () => {
    const view = setup(initial());
    const before = view.doc;
    const size = view.hydrator.size;
    expect(() =>
      view.patch([
        { op: "replace", path: "/onSave/code", value: "changed" },
        { op: "add", path: "/items/-", value: { onToggle: listener("brand-new") } },
        { op: "remove", path: "/missing" },
      ]),
    ).toThrow(LenraPatchError);
    expect(view.doc).toBe(before);
    expect(view.hydrator.size).toBe(size);
    expect(JSON.parse(JSON.stringify(before))).toStrictEqual(initial());
  });

  it("walks only the values new in the patch", () => {
    let reads = 0;
    const watched = new Proxy(
      { a: 1 },
      {
        get(target, key, receiver) {
          reads++;
          return Reflect.get(target, key, receiver);
        },
        ownKeys(target) {
          reads++;
          return Reflect.ownKeys(target);
        },
      },
    );
    const view = setup({ big: watched, other: { on: listener("a") } });
    reads = 0;
    view.patch([
      { op: "add", path: "/other/x", value: { on: listener("b") } },
      { op: "replace", path: "/other/on/code", value: "c" },
    ]);
    expect(reads).toBe(0);
    expect(view.doc.big).toBe(watched);
  });
});

describe("replace", () => {
  it("keeps the same functions for codes already known", () => {
    const view = setup({ on: listener("a"), list: [{ on: listener("b") }] });
    const a = view.doc.on;
    const b = (view.doc.list as Doc[])[0]!.on;
    const next = view.hydrator.replace({
      list: [{ on: listener("b") }, { on: listener("a") }],
      on: listener("c"),
    }) as Doc;
    expect((next.list as Doc[])[0]!.on).toBe(b);
    expect((next.list as Doc[])[1]!.on).toBe(a);
    expect(next.on).not.toBe(a);
    expect(view.hydrator.size).toBe(3);
    const again = view.hydrator.replace({ on: listener("a") }) as Doc;
    expect(again.on).toBe(a);
    expect(view.hydrator.size).toBe(1);
    // Codes gone from the previous document are forgotten.
    const later = view.hydrator.replace({ on: listener("b") }) as Doc;
    expect(later.on).not.toBe(b);
    expect((later.on as Listener).code).toBe("b");
  });
  it("gives equal listener objects new in one document one function from the next frame on", () => {
    const view = setup({ top: listener("save"), bottom: listener("save") });
    const { top, bottom } = view.doc as { top: Listener; bottom: Listener };
    expect([top.code, bottom.code]).toStrictEqual(["save", "save"]);
    const next = view.hydrator.replace({ top: listener("save"), bottom: listener("save") }) as Doc;
    expect(next.top).toBe(next.bottom);
    expect([top, bottom]).toContain(next.top);
    const patched = view.hydrator.patch(next, [
      { op: "replace", path: "/top", value: listener("save") },
    ]) as Doc;
    expect(patched.top).toBe(next.top);
  });
});

describe("the listener cache", () => {
  it("stays bounded over 100k patches that replace listeners", () => {
    const json = {
      items: Array.from({ length: 10 }, (_, i) => ({ id: i, on: listener(`c${i}-0`) })),
    };
    const hydrator = createHydrator(async () => {});
    let doc = hydrator.replace(json);
    let maxSize = 0;
    for (let n = 1; n <= 100_000; n++) {
      const i = n % 10;
      doc = hydrator.patch(doc, [
        n % 2 === 0
          ? { op: "replace", path: `/items/${i}/on/code`, value: `c${i}-${n}` }
          : { op: "replace", path: `/items/${i}/on`, value: listener(`c${i}-${n}`) },
      ]);
      maxSize = Math.max(maxSize, hydrator.size);
    }
    expect(maxSize).toBeLessThan(300);
    // Still correct after compactions: same code, same function.
    const on = (doc as typeof json).items[3]!.on;
    const after = hydrator.patch(doc, [
      { op: "replace", path: "/items/3/on", value: (on as unknown as Listener).toJSON() },
    ]) as typeof json;
    expect(after.items[3]!.on).toBe(on);
  });
});

describe("types", () => {
  it("maps listener objects to Listener, recursively", () => {
    type View = {
      count: number;
      onIncrement: ListenerObject;
      items: { id: string; onToggle: { _type: "listener"; code: string } }[];
      pair: readonly [ListenerObject, string];
      maybe: ListenerObject | null;
      other: { _type: "view"; code: string };
    };
    type H = Hydrated<View>;
    expectTypeOf<H["count"]>().toEqualTypeOf<number>();
    expectTypeOf<H["onIncrement"]>().toEqualTypeOf<Listener>();
    expectTypeOf<H["items"][number]["onToggle"]>().toEqualTypeOf<Listener>();
    expectTypeOf<H["items"][number]["id"]>().toEqualTypeOf<string>();
    expectTypeOf<H["pair"]>().toEqualTypeOf<readonly [Listener, string]>();
    expectTypeOf<H["maybe"]>().toEqualTypeOf<Listener | null>();
    expectTypeOf<H["other"]>().toEqualTypeOf<{ _type: "view"; code: string }>();
    expectTypeOf<Hydrated<string>>().toEqualTypeOf<string>();
    expectTypeOf<Listener<MouseEvent>>().parameter(0).toEqualTypeOf<MouseEvent | undefined>();
    expectTypeOf<Listener>().returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf<ReturnType<Listener["toJSON"]>>().toEqualTypeOf<ListenerObject>();
  });
});
