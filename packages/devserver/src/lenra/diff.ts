import type { JsonObject, JsonValue } from "../shared/json.ts";

/** One RFC 6902 operation, as `patchUi` carries it. */
export type PatchOperation =
  | { op: "add" | "replace" | "test"; path: string; value: JsonValue }
  | { op: "remove"; path: string }
  | { op: "move" | "copy"; from: string; path: string };

/**
 * The RFC 6902 patch that turns `previous` into `next`; empty when they are equal. Both must
 * be JSON snapshots nobody mutates afterwards, since operations share `next`'s subtrees.
 *
 * It costs what changed: a subtree that is the same object in both is skipped at once (renders
 * keep unchanged parts by identity), and array items are matched by `_id` (or by identity) so an
 * insert, a removal or a move anywhere in a list is one operation. No part of the patch is
 * larger than replacing the value it changes: where the operations would weigh more (in JSON
 * text), the value is replaced instead.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6902
 */
export function diffDocuments(previous: JsonValue, next: JsonValue): PatchOperation[] {
  return diffValue(previous, next, "").ops;
}

/** Operations and the length of their JSON text (each counted with one separator). */
interface Ops {
  ops: PatchOperation[];
  size: number;
}

const NONE: Ops = { ops: [], size: 0 };

/** Beyond this many moves, a reordered list is diffed item by item instead. */
const MAX_MOVES = 32;

function diffValue(a: JsonValue, b: JsonValue, path: string): Ops {
  if (a === b) return NONE;
  const aObject = typeof a === "object" && a !== null;
  const bObject = typeof b === "object" && b !== null;
  if (!aObject || !bObject || Array.isArray(a) !== Array.isArray(b)) {
    return equalJson(a, b) ? NONE : single({ op: "replace", path, value: b });
  }
  const out: Ops = { ops: [], size: 0 };
  if (Array.isArray(a)) diffArray(a, b as JsonValue[], path, out);
  else diffObject(a as JsonObject, b as JsonObject, path, out);
  if (out.ops.length === 0) return NONE;
  // Never larger than replacing the whole value.
  const replace: PatchOperation = { op: "replace", path, value: b };
  const overhead = JSON.stringify({ ...replace, value: 0 }).length;
  return overhead + boundedSize(b, out.size - overhead) < out.size ? single(replace) : out;
}

function diffObject(a: JsonObject, b: JsonObject, path: string, out: Ops): void {
  for (const key in a) {
    if (!Object.hasOwn(b, key)) push(out, { op: "remove", path: `${path}/${pointerToken(key)}` });
  }
  for (const key in b) {
    const at = `${path}/${pointerToken(key)}`;
    if (Object.hasOwn(a, key)) append(out, diffValue(a[key] as JsonValue, b[key] as JsonValue, at));
    else push(out, { op: "add", path: at, value: b[key] as JsonValue });
  }
}

function diffArray(a: readonly JsonValue[], b: readonly JsonValue[], path: string, out: Ops): void {
  // What did not change at both ends costs one comparison per item (identity, mostly).
  let start = 0;
  const shorter = Math.min(a.length, b.length);
  while (start < shorter && equalJson(a[start] as JsonValue, b[start] as JsonValue)) start++;
  let endA = a.length;
  let endB = b.length;
  while (
    endA > start &&
    endB > start &&
    equalJson(a[endA - 1] as JsonValue, b[endB - 1] as JsonValue)
  ) {
    endA--;
    endB--;
  }
  const before = a.slice(start, endA);
  const after = b.slice(start, endB);
  if (!(before.length > 0 && after.length > 0 && diffKeyed(before, after, path, start, out))) {
    diffByPosition(before, after, path, start, out);
  }
}

/** Item by item: what is at the same index is diffed, the rest added or removed at the end. */
function diffByPosition(
  a: readonly JsonValue[],
  b: readonly JsonValue[],
  path: string,
  offset: number,
  out: Ops,
): void {
  const common = Math.min(a.length, b.length);
  for (let i = 0; i < common; i++) {
    append(out, diffValue(a[i] as JsonValue, b[i] as JsonValue, `${path}/${offset + i}`));
  }
  for (let i = common; i < b.length; i++) {
    push(out, { op: "add", path: `${path}/${offset + i}`, value: b[i] as JsonValue });
  }
  for (let i = a.length - 1; i >= common; i--)
    push(out, { op: "remove", path: `${path}/${offset + i}` });
}

/**
 * Items matched by key: the ones gone are removed, new ones added where they are, moved ones
 * moved, and the ones kept diffed. Returns false (having added nothing to `out`) when an item
 * has no key, keys repeat, no key is in both, or the list was reordered too much to be worth it.
 */
function diffKeyed(
  a: readonly JsonValue[],
  b: readonly JsonValue[],
  path: string,
  offset: number,
  out: Ops,
): boolean {
  const keysA = uniqueKeys(a);
  const keysB = keysA && uniqueKeys(b);
  // Without a key in common, matching by key would only replace every item.
  if (!keysA || !keysB?.list.some((key) => keysA.has(key))) return false;
  const local: Ops = { ops: [], size: 0 };
  // The items left once the removed ones are gone, in their order.
  const left: { key: unknown; value: JsonValue }[] = [];
  for (let i = a.length - 1; i >= 0; i--) {
    if (!keysB.has(keysA.list[i])) push(local, { op: "remove", path: `${path}/${offset + i}` });
  }
  for (let i = 0; i < a.length; i++) {
    if (keysB.has(keysA.list[i])) left.push({ key: keysA.list[i], value: a[i] as JsonValue });
  }
  let moves = 0;
  for (let j = 0; j < b.length; j++) {
    const key = keysB.list[j];
    const at = `${path}/${offset + j}`;
    const here = left[j];
    if (here !== undefined && here.key === key) {
      append(local, diffValue(here.value, b[j] as JsonValue, at));
      continue;
    }
    if (!keysA.has(key)) {
      push(local, { op: "add", path: at, value: b[j] as JsonValue });
      left.splice(j, 0, { key, value: b[j] as JsonValue });
      continue;
    }
    if (++moves > MAX_MOVES) return false;
    let from = j + 1;
    while (left[from]?.key !== key) from++;
    const [moved] = left.splice(from, 1) as [{ key: unknown; value: JsonValue }];
    left.splice(j, 0, moved);
    push(local, { op: "move", from: `${path}/${offset + from}`, path: at });
    append(local, diffValue(moved.value, b[j] as JsonValue, at));
  }
  append(out, local);
  return true;
}

/** The items' keys (an object's string or number `_id`, else the object itself), if unique. */
function uniqueKeys(
  items: readonly JsonValue[],
): { list: unknown[]; has(key: unknown): boolean } | undefined {
  const list: unknown[] = new Array(items.length);
  const seen = new Set<unknown>();
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (typeof item !== "object" || item === null) return undefined;
    const id = Array.isArray(item) ? undefined : item._id;
    const key = typeof id === "string" || typeof id === "number" ? id : item;
    if (seen.has(key)) return undefined;
    seen.add(key);
    list[i] = key;
  }
  return { list, has: (key) => seen.has(key) };
}

/** True when two JSON values are equal; what is the same object is not looked into. */
export function equalJson(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) {
      if (!equalJson(a[i] as JsonValue, b[i] as JsonValue)) return false;
    }
    return true;
  }
  if (Array.isArray(b)) return false;
  let count = 0;
  for (const key in a) {
    if (!Object.hasOwn(b, key) || !equalJson(a[key] as JsonValue, b[key] as JsonValue)) {
      return false;
    }
    count++;
  }
  for (const _ in b) count--;
  return count === 0;
}

/** The length of `value`'s JSON text, or any number above `limit` once it is known to exceed it. */
function boundedSize(value: JsonValue, limit: number): number {
  let size = 0;
  const walk = (item: JsonValue): boolean => {
    if (typeof item !== "object" || item === null) {
      size += JSON.stringify(item).length;
    } else if (Array.isArray(item)) {
      size += 1 + Math.max(item.length - 1, 0) + 1;
      for (const member of item) if (!walk(member)) return false;
    } else {
      size += 1;
      let first = true;
      for (const key in item) {
        size += JSON.stringify(key).length + (first ? 1 : 2);
        first = false;
        if (!walk(item[key] as JsonValue)) return false;
      }
      size += 1;
    }
    return size <= limit;
  };
  walk(value);
  return size;
}

function single(operation: PatchOperation): Ops {
  return { ops: [operation], size: JSON.stringify(operation).length + 1 };
}

function push(out: Ops, operation: PatchOperation): void {
  out.ops.push(operation);
  out.size += JSON.stringify(operation).length + 1;
}

function append(out: Ops, more: Ops): void {
  for (const operation of more.ops) out.ops.push(operation);
  out.size += more.size;
}

/** A JSON pointer token: `~` is `~0`, `/` is `~1` (RFC 6901). */
function pointerToken(key: string): string {
  return key.includes("~") || key.includes("/")
    ? key.replaceAll("~", "~0").replaceAll("/", "~1")
    : key;
}
