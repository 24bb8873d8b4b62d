import { isDeepStrictEqual } from "node:util";
import jsonPatch from "fast-json-patch";
import type { JsonValue } from "../shared/json.ts";

/** One RFC 6902 operation, as `patchUi` carries it. */
export type PatchOperation =
  | { op: "add" | "replace" | "test"; path: string; value: JsonValue }
  | { op: "remove"; path: string }
  | { op: "move" | "copy"; from: string; path: string };

/**
 * The RFC 6902 patch that turns `previous` into `next`; empty when they are equal. Both must
 * be JSON snapshots nobody mutates afterwards, since operations share `next`'s subtrees.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6902
 */
export function diffDocuments(previous: JsonValue, next: JsonValue): PatchOperation[] {
  // fast-json-patch only diffs two containers of the same kind: it returns nothing for
  // primitives and odd duplicate root replaces when an array becomes an object.
  if (!sameContainerKind(previous, next)) {
    return isDeepStrictEqual(previous, next) ? [] : [{ op: "replace", path: "", value: next }];
  }
  return jsonPatch.compare(previous as object, next as object) as PatchOperation[];
}

function sameContainerKind(a: JsonValue, b: JsonValue): boolean {
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null) return false;
  return Array.isArray(a) === Array.isArray(b);
}
