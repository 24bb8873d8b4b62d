import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ListenerCodec, listener } from "../src/app/listeners.ts";
import { encodeView } from "../src/app/view-encoder.ts";
import { canonicalJson } from "../src/shared/json.ts";

/** Encodes `view` as a render does and returns the document with its listeners. */
function encode(codec: ListenerCodec, view: unknown, previous?: unknown) {
  const document = encodeView(view, { codec, view: "test", previous: previous as never });
  return { document, listeners: codec.tree(document).listeners() };
}

describe("ListenerCodec", () => {
  it("replaces app listeners at any depth and keeps other keys", () => {
    const codec = new ListenerCodec();
    const view = {
      a: listener("inc"),
      list: [{ b: { ...listener("set", { id: "x", n: 1 }), label: "Set" } }],
      other: { _type: "view", name: "nested" },
    };
    const { document, listeners } = encode(codec, view);
    const encoded = document as {
      a: unknown;
      list: { b: { code: string } }[];
      other: unknown;
    };
    expect(encoded.a).toEqual({ _type: "listener", code: codec.code("inc", undefined) });
    expect(encoded.list[0]?.b).toEqual({
      _type: "listener",
      label: "Set",
      code: codec.code("set", { id: "x", n: 1 }),
    });
    expect(encoded.other).toEqual({ _type: "view", name: "nested" });
    expect(JSON.stringify(encoded)).not.toContain('"name":"inc"');
    expect(listeners.get(encoded.list[0]!.b.code)).toEqual({
      name: "set",
      props: { id: "x", n: 1 },
    });
    expect(listeners.size).toBe(2);
    // The input is untouched.
    expect(view.a).toEqual({ _type: "listener", name: "inc" });
  });

  it("derives the same code whatever the props' key order, different ones otherwise", () => {
    const codec = new ListenerCodec();
    expect(codec.code("a", { x: 1, y: 2 })).toBe(codec.code("a", { y: 2, x: 1 }));
    expect(codec.code("a", { x: 1 })).not.toBe(codec.code("a", { x: 2 }));
    expect(codec.code("a", undefined)).not.toBe(codec.code("b", undefined));
  });

  it("keys codes with its secret: an HMAC-SHA256 of name and props, unguessable without the key", () => {
    const key = Buffer.alloc(32, 7);
    const codec = new ListenerCodec(key);
    const code = codec.code("vote", { choice: 1 });
    expect(code).toBe(
      createHmac("sha256", key)
        .update(canonicalJson(["vote", { choice: 1 }]))
        .digest("base64url"),
    );
    // An unsalted hash of the same input (what a guesser would try) is not the code.
    expect(code).not.toBe(
      createHmac("sha256", Buffer.alloc(0))
        .update(canonicalJson(["vote", { choice: 1 }]))
        .digest("base64url"),
    );
    // Two codecs (two dev server runs) give two codes for the same listener.
    expect(new ListenerCodec().code("vote", { choice: 1 })).not.toBe(
      new ListenerCodec().code("vote", { choice: 1 }),
    );
  });

  it("finds a listener only in a document its codec encoded it in", () => {
    const mine = new ListenerCodec();
    const other = new ListenerCodec();
    const { document } = encode(mine, { on: listener("inc") });
    const { code } = (document as { on: { code: string } }).on;
    expect(mine.tree(document).listeners().get(code)?.name).toBe("inc");
    expect(other.tree(document).listeners().get(code)).toBeUndefined();
    // The same JSON, not encoded by the codec, holds no listener.
    expect(mine.tree(structuredClone(document)).listeners().size).toBe(0);
  });

  it("reuses an unchanged listener object without asking for its code again", () => {
    const codec = new ListenerCodec();
    const first = encode(codec, { items: [{ _id: "a", on: listener("t", { id: "a" }) }] });
    let asked = 0;
    const code = codec.code.bind(codec);
    codec.code = (name, props) => {
      asked++;
      return code(name, props);
    };
    const view = {
      items: [
        { _id: "b", on: listener("t", { id: "b" }) },
        { _id: "a", on: listener("t", { id: "a" }) },
      ],
    };
    const second = encode(codec, view, first.document);
    const [added, kept] = (second.document as { items: unknown[] }).items;
    expect(kept).toBe((first.document as { items: unknown[] }).items[0]);
    expect(added).toEqual({ _id: "b", on: { _type: "listener", code: code("t", { id: "b" }) } });
    expect(asked).toBe(1);
  });

  it("rejects an empty listener name", () => {
    expect(() => listener("")).toThrow(TypeError);
  });
});
