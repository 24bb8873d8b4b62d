import { DevServerError } from "../shared/errors.ts";

import type { QueryParams, QueryValue } from "./connect.ts";

/** The query string cannot be decoded; the server answers HTTP 400, as Plug does. */
export class QueryParseError extends DevServerError<"invalid_query"> {
  override name = "QueryParseError";

  constructor(message: string, options?: { cause?: unknown }) {
    super("invalid_query", message, options);
  }
}

// Hand-written rather than `qs`: Phoenix sees Plug's decoding, and qs differs where the socket
// params care (a later scalar replaces a map in Plug and merges into it in qs; qs drops a
// `__proto__` key, Plug keeps it as data; qs leaves bad percent-encoding as text, Plug answers 400).
const MAX_PAIRS = 1_000;
const MAX_DEPTH = 32;

/**
 * Decodes a query string the way Plug does before Phoenix sees it: `+` is a space, `%XX` is
 * percent-decoded, `a[b][c]=1` nests maps, `a[]=1&a[]=2` builds a list, `a[][b]=1` appends a
 * new map to a list, a later scalar replaces an earlier one, and a pair without `=` is an
 * empty string. Malformed percent-encoding throws {@link QueryParseError}.
 *
 * @param query the text after `?`, with or without the `?`
 */
export function parseQuery(query: string): QueryParams {
  const text = query.startsWith("?") ? query.slice(1) : query;
  const params: QueryParams = {};
  if (text === "") return params;
  const pairs = text.split("&");
  if (pairs.length > MAX_PAIRS) {
    throw new QueryParseError(`The query has more than ${MAX_PAIRS} parameters.`);
  }
  for (const pair of pairs) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const key = decodeComponent(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? "" : decodeComponent(pair.slice(eq + 1));
    assign(params, splitKey(key), value);
  }
  return params;
}

function decodeComponent(text: string): string {
  try {
    return decodeURIComponent(text.replaceAll("+", " "));
  } catch (cause) {
    throw new QueryParseError(`Invalid percent-encoding in the query: ${text}`, { cause });
  }
}

/** `a[b][]` → `["a", "b", ""]`; a key that is not a well-formed bracket path stays whole. */
function splitKey(key: string): string[] {
  const open = key.indexOf("[");
  if (open <= 0 || !key.endsWith("]")) return [key];
  const inner = key.slice(open + 1, -1).split("][");
  if (inner.some((part) => part.includes("[") || part.includes("]"))) return [key];
  if (inner.length >= MAX_DEPTH) {
    throw new QueryParseError(`The query parameter ${key} is nested too deeply.`);
  }
  return [key.slice(0, open), ...inner];
}

function assign(target: QueryParams, path: string[], value: string): void {
  const [head, ...rest] = path as [string, ...string[]];
  if (rest.length === 0) {
    setOwn(target, head, value);
    return;
  }
  const existing = getOwn(target, head);
  setOwn(target, head, insert(existing, rest, value));
}

/** Places `value` at `path` below `current`, reusing `current` when its shape fits. */
function insert(current: QueryValue | undefined, path: string[], value: string): QueryValue {
  const [head, ...rest] = path as [string, ...string[]];
  if (head === "") {
    const list = Array.isArray(current) ? current : [];
    list.push(rest.length === 0 ? value : insert(undefined, rest, value));
    return list;
  }
  const map = isMap(current) ? current : {};
  assign(map, path, value);
  return map;
}

function isMap(value: QueryValue | undefined): value is QueryParams {
  return typeof value === "object" && !Array.isArray(value);
}

function getOwn(target: QueryParams, key: string): QueryValue | undefined {
  return Object.hasOwn(target, key) ? target[key] : undefined;
}

// Defined rather than assigned so a `__proto__` key stays an ordinary own property and can
// never reach a prototype.
function setOwn(target: QueryParams, key: string, value: QueryValue): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}
