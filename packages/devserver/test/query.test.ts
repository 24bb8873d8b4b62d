import { describe, expect, it } from "vitest";
import { parseQuery, QueryParseError } from "../src/protocol/query.ts";

describe("parseQuery (Plug's decoding)", () => {
  it("decodes flat pairs, + as space and percent-encoding", () => {
    expect(parseQuery("?vsn=2.0.0&token=user%3Aalice&name=a+b%20c")).toEqual({
      vsn: "2.0.0",
      token: "user:alice",
      name: "a b c",
    });
  });

  it("nests bracket keys into maps", () => {
    expect(parseQuery("context[a]=1&context[b][c]=2&context[b][d]=3")).toEqual({
      context: { a: "1", b: { c: "2", d: "3" } },
    });
  });

  it("builds lists from [] and appends a new map for each []-with-more", () => {
    expect(parseQuery("ids[]=1&ids[]=2&m[][x]=1&m[][y]=2")).toEqual({
      ids: ["1", "2"],
      m: [{ x: "1" }, { y: "2" }],
    });
  });

  it("lets a later value win, reads a bare key as empty and skips empty pairs", () => {
    expect(parseQuery("a=1&a=2&flag&&b[c]=1&b=3")).toEqual({ a: "2", flag: "", b: "3" });
  });

  it("keeps malformed bracket keys whole", () => {
    expect(parseQuery("a[b=1&[c]=2&d]=3")).toEqual({ "a[b": "1", "[c]": "2", "d]": "3" });
  });

  it("never touches prototypes", () => {
    const params = parseQuery("__proto__[polluted]=1&context[__proto__][x]=2");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(params)).toBe(Object.prototype);
    expect(Object.keys(params)).toEqual(["__proto__", "context"]);
  });

  it("throws QueryParseError for bad percent-encoding", () => {
    expect(() => parseQuery("a=%E0%A4%A")).toThrow(QueryParseError);
  });
});
