/** A route parameter as Lenra reads it from a path segment. */
export type RouteParam = string | number | boolean;

/**
 * Matches a path against a route's path the way Lenra's `ApplicationRunner.Utils.Routes` does:
 * both are trimmed of `/` at both ends and split on `/`; they match when they have as many
 * segments and every segment is equal, except `:name` segments, which take any segment (even an
 * empty one), not percent-decoded, typed by {@link parseRouteParam}. Returns the parameters, or
 * `undefined` when the path does not match.
 *
 * @see PROTOCOL.md §3
 */
export function matchRoutePath(
  routePath: string,
  path: string,
): Record<string, RouteParam> | undefined {
  const expected = segments(routePath);
  const actual = segments(path);
  if (expected.length !== actual.length) return undefined;
  const params: Record<string, RouteParam> = {};
  for (let i = 0; i < expected.length; i++) {
    const want = expected[i] as string;
    const got = actual[i] as string;
    if (want.startsWith(":")) {
      // Defined, not assigned, so a parameter named "__proto__" stays data.
      Object.defineProperty(params, want.slice(1), {
        value: parseRouteParam(got),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else if (want !== got) {
      return undefined;
    }
  }
  return params;
}

const INTEGER = /^[+-]?\d+$/;
const FLOAT = /^[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const OBJECT_ID = /^[0-9a-fA-F]{24}$/;

/**
 * Types a path segment as Lenra does before substituting it: `true` and `false` become
 * booleans, integers and floats numbers, and 24 hexadecimal digits an ObjectId, which on the
 * dev server is those digits in lower case (its document ids); anything else stays the string
 * it is. An integer JavaScript cannot hold exactly, or a float out of range, stays a string
 * rather than becoming a different number.
 */
export function parseRouteParam(segment: string): RouteParam {
  if (segment === "true") return true;
  if (segment === "false") return false;
  if (INTEGER.test(segment)) {
    const value = Number(segment);
    return Number.isSafeInteger(value) ? value : segment;
  }
  if (FLOAT.test(segment)) {
    const value = Number(segment);
    return Number.isFinite(value) ? value : segment;
  }
  if (OBJECT_ID.test(segment)) return segment.toLowerCase();
  return segment;
}

function segments(path: string): string[] {
  return path.replace(/^\/+|\/+$/g, "").split("/");
}
