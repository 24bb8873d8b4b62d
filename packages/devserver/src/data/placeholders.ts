import { isPlainObject } from "./documents.ts";
import { DataError, DataErrorReason } from "./errors.ts";

/** The string Lenra replaces by the current user's id in queries, documents and updates. */
export const ME_PLACEHOLDER = "@me";

/** The prefix of strings Lenra replaces by a route's path parameter: `"@route.id"`. */
export const ROUTE_PLACEHOLDER_PREFIX = "@route.";

/**
 * Replaces every string exactly equal to `"@me"`, at any depth, by `userId`. Keys are left alone.
 * Throws `no_current_user` when `"@me"` appears and there is no user (an environment token).
 * Returns a new value; the input is never modified.
 * See PROTOCOL.md §5.
 */
export function substituteMe<T>(value: T, userId: string | undefined): T {
  return mapStrings(value, (text) => {
    if (text !== ME_PLACEHOLDER) return text;
    if (userId === undefined) {
      throw new DataError(
        403,
        DataErrorReason.NoCurrentUser,
        '"@me" was used, but this token belongs to no user (an environment listener such as onEnvStart).',
      );
    }
    return userId;
  }) as T;
}

/**
 * Replaces every string `"@route.<param>"`, at any depth, by the route's path parameter
 * `params[<param>]` (for the route `/todos/:id`, `"@route.id"`). Throws `unknown_route_param` for a
 * parameter the route does not have. Returns a new value; the input is never modified.
 * See PROTOCOL.md §5.
 */
export function substituteRouteParams<T>(value: T, params: Readonly<Record<string, string>>): T {
  return mapStrings(value, (text) => {
    if (!text.startsWith(ROUTE_PLACEHOLDER_PREFIX)) return text;
    const name = text.slice(ROUTE_PLACEHOLDER_PREFIX.length);
    if (!Object.hasOwn(params, name)) {
      throw new DataError(
        400,
        DataErrorReason.UnknownRouteParam,
        `"${text}" names no parameter of this route.`,
      );
    }
    return params[name] as string;
  }) as T;
}

/** Both substitutions at once, as a route's `find` needs them. */
export function substitutePlaceholders<T>(
  value: T,
  context: { userId?: string | undefined; routeParams?: Readonly<Record<string, string>> },
): T {
  const withRoute = context.routeParams ? substituteRouteParams(value, context.routeParams) : value;
  return substituteMe(withRoute, context.userId);
}

function mapStrings(value: unknown, map: (text: string) => string): unknown {
  if (typeof value === "string") return map(value);
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, map));
  if (isPlainObject(value)) {
    // fromEntries defines own properties, so even a "__proto__" key cannot reach a prototype.
    return Object.fromEntries(
      Object.entries(value).map(([key, member]) => [key, mapStrings(member, map)]),
    );
  }
  return value;
}
