import { isPlainObject } from "./documents.ts";

/**
 * A string that is a whole parameter reference, as Lenra's query grammar reads one: `@`, a name,
 * then `.key` segments (lenra-io/query-parser, `param_ref`). `"@me"`, `"@route.id"` and
 * `"@roles"` are references; `"@me!"`, `"a@b"`, `"@ me"` and `"@1"` are plain strings.
 */
const PARAM_REF = /^@([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)$/;

/** The values references are looked up in: `{ me, route, roles }` for a view's find. */
export type PlaceholderParams = Readonly<Record<string, unknown>>;

/** True when `text` is a whole parameter reference such as `"@me"` or `"@route.id"`. */
export function isParamRef(text: string): boolean {
  return PARAM_REF.test(text);
}

/**
 * Replaces every string that is a whole parameter reference, at any depth, by the value its
 * path names in `params`, and by `null` when `params` has no such value, as Lenra's
 * `QueryParser.Parser.replace_params` does: `"@me"` is the user (`null` for a guest),
 * `"@route.id"` a route parameter. Keys and other strings are left alone. `onMissing` hears of
 * each reference that became `null` because nothing was found. Returns a new value; the input
 * is never modified.
 *
 * @see PROTOCOL.md §5
 */
export function replaceParams<T>(
  value: T,
  params: PlaceholderParams,
  onMissing?: (reference: string) => void,
): T {
  return mapStrings(value, (text) => {
    const match = PARAM_REF.exec(text);
    if (!match) return text;
    const found = lookup(params, (match[1] as string).split("."));
    if (found === undefined) {
      onMissing?.(text);
      return null;
    }
    return found;
  }) as T;
}

/** Every whole parameter reference `value` holds, at any depth. */
export function paramRefs(value: unknown): string[] {
  const found: string[] = [];
  mapStrings(value, (text) => {
    if (PARAM_REF.test(text)) found.push(text);
    return text;
  });
  return found;
}

/** Follows own properties of plain objects only, so no reference reaches a prototype. */
function lookup(params: PlaceholderParams, path: readonly string[]): unknown {
  let current: unknown = params;
  for (const key of path) {
    if (!isPlainObject(current) || !Object.hasOwn(current, key)) return undefined;
    current = current[key];
  }
  return current;
}

function mapStrings(value: unknown, map: (text: string) => unknown): unknown {
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

/**
 * Lenra writes MongoDB ids in JSON as the text `"ObjectId(<24 hex digits>)"` and reads that text
 * back as an id in documents, queries and paths. The dev server's ids are the 24 hex digits
 * alone; this reads Lenra's form as the same id, so an app that kept an id from Lenra (or wrote
 * one by hand) finds the same document here.
 */
const LENRA_OBJECT_ID = /^ObjectId\(([0-9a-fA-F]{24})\)$/;

/** The dev server's id for `text` when it is an id in either form, else `undefined`. */
export function readObjectId(text: string): string | undefined {
  if (/^[0-9a-fA-F]{24}$/.test(text)) return text.toLowerCase();
  const match = LENRA_OBJECT_ID.exec(text);
  return match ? (match[1] as string).toLowerCase() : undefined;
}

/** Replaces every `"ObjectId(<hex>)"` string, at any depth, by the id it names. */
export function decodeObjectIds<T>(value: T): T {
  return mapStrings(value, (text) => {
    const match = LENRA_OBJECT_ID.exec(text);
    return match ? (match[1] as string).toLowerCase() : text;
  }) as T;
}
