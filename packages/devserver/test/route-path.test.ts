import { describe, expect, it } from "vitest";
import { matchRoutePath, parseRouteParam } from "../src/lenra/route-path.ts";

describe("route paths as Lenra's ApplicationRunner.Utils.Routes reads them", () => {
  it("types a segment as Integer.parse, Float.parse and BSON.ObjectId.decode accept it whole", () => {
    const cases: [string, unknown][] = [
      ["42", 42],
      ["-7", -7],
      ["+5", 5],
      ["007", 7],
      ["1.5", 1.5],
      ["-0.25", -0.25],
      ["1e3", 1000],
      ["2.5E-1", 0.25],
      ["true", true],
      ["false", false],
      ["65A1B2C3D4E5F60718293A4B", "65a1b2c3d4e5f60718293a4b"],
      // Not a whole number, boolean or id: the text as it is.
      ["1.", "1."],
      [".5", ".5"],
      ["12abc", "12abc"],
      ["True", "True"],
      ["0x1F", "0x1F"],
      ["", ""],
      ["a%20b", "a%20b"],
      // Beyond what JavaScript holds exactly: kept as text rather than changed.
      ["123456789012345678901234", "123456789012345678901234"],
      ["1e400", "1e400"],
    ];
    for (const [segment, value] of cases) expect(parseRouteParam(segment), segment).toEqual(value);
  });

  it("matches segment by segment after trimming slashes at both ends; parameters take any segment", () => {
    expect(matchRoutePath("/items/:id", "/items/3")).toEqual({ id: 3 });
    expect(matchRoutePath("/items/:id/", "items/3/")).toEqual({ id: 3 });
    expect(matchRoutePath("/", "")).toEqual({});
    expect(matchRoutePath("/a/:x/b", "/a//b")).toEqual({ x: "" });
    expect(matchRoutePath("/items/:id", "/items")).toBeUndefined();
    expect(matchRoutePath("/items/:id", "/things/3")).toBeUndefined();
    const proto = matchRoutePath("/:__proto__", "/x") as Record<string, unknown>;
    expect(Object.hasOwn(proto, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
  });
});
