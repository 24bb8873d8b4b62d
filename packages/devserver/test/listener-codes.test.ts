import { describe, expect, it } from "vitest";
import { encodeListeners, ListenerCodes, listener, listenerCode } from "../src/app/listeners.ts";

/** Encodes `view` and lets `codes` learn what it sent, as a session does with a render. */
function encode(codes: ListenerCodes, view: unknown): unknown {
  const { document, listeners } = encodeListeners(view, { view: "test" });
  codes.learn(listeners);
  return document;
}

describe("ListenerCodes", () => {
  it("replaces app listeners at any depth and keeps other keys", () => {
    const codes = new ListenerCodes();
    const view = {
      a: listener("inc"),
      list: [{ b: { ...listener("set", { id: "x", n: 1 }), label: "Set" } }],
      other: { _type: "view", name: "nested" },
    };
    const encoded = encode(codes, view) as {
      a: unknown;
      list: { b: { code: string } }[];
      other: unknown;
    };
    expect(encoded.a).toEqual({ _type: "listener", code: listenerCode("inc", undefined) });
    expect(encoded.list[0]?.b).toEqual({
      _type: "listener",
      label: "Set",
      code: listenerCode("set", { id: "x", n: 1 }),
    });
    expect(encoded.other).toEqual({ _type: "view", name: "nested" });
    expect(JSON.stringify(encoded)).not.toContain('"name":"inc"');
    expect(codes.resolve(encoded.list[0]!.b.code)).toEqual({
      name: "set",
      props: { id: "x", n: 1 },
    });
    // The input is untouched.
    expect(view.a).toEqual({ _type: "listener", name: "inc" });
  });

  it("derives the same code whatever the props' key order, different ones otherwise", () => {
    expect(listenerCode("a", { x: 1, y: 2 })).toBe(listenerCode("a", { y: 2, x: 1 }));
    expect(listenerCode("a", { x: 1 })).not.toBe(listenerCode("a", { x: 2 }));
    expect(listenerCode("a", undefined)).not.toBe(listenerCode("b", undefined));
  });

  it("resolves only codes this registry handed out", () => {
    const mine = new ListenerCodes();
    const other = new ListenerCodes();
    const { code } = encode(mine, listener("inc")) as { code: string };
    expect(mine.resolve(code)?.name).toBe("inc");
    expect(other.resolve(code)).toBeUndefined();
  });

  it("rejects an empty listener name", () => {
    expect(() => listener("")).toThrow(TypeError);
  });
});
