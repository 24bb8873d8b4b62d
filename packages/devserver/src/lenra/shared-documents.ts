import { EncodedPayload } from "../protocol/frames.ts";
import { type JsonValue, toJsonSnapshot } from "../shared/json.ts";
import { diffDocuments } from "./diff.ts";

/** Deeper than any document sent: checked by a copy through JSON, which also refuses a cycle. */
const MAX_CHECKED_DEPTH = 512;

/**
 * Work shared by every channel that shows the same document: when 200 sessions get one shared
 * render, the check, the diff against the document they all hold and the `patchUi` payload's
 * JSON are computed once, not 200 times. Keyed by object identity, so a document given to a
 * sink must never be changed afterwards (backends build a new one per render).
 */
export class SharedDocuments {
  /** Containers known to be JSON: a document that shares most of its parts costs what is new. */
  readonly #json = new WeakSet<object>();
  readonly #copies = new WeakMap<object, JsonValue>();
  readonly #patches = new WeakMap<object, { next: object; payload: EncodedPayload | undefined }>();

  /**
   * `document` as the client receives it: the document itself when it is JSON already (plain
   * objects and arrays of strings, finite numbers, booleans and null, as the platform's are),
   * else a JSON copy, the same one for every caller given the same object. Throws `TypeError`
   * for what JSON cannot carry (a cycle, a BigInt).
   */
  snapshot(document: JsonValue): JsonValue {
    if (typeof document !== "object" || document === null) return document;
    if (this.#isJson(document, 0)) return document;
    let copy = this.#copies.get(document);
    if (copy === undefined) {
      copy = toJsonSnapshot(document);
      this.#copies.set(document, copy);
    }
    return copy;
  }

  #isJson(value: unknown, depth: number): boolean {
    switch (typeof value) {
      case "string":
      case "boolean":
        return true;
      case "number":
        return Number.isFinite(value);
      case "object":
        break;
      default:
        return false;
    }
    if (value === null || this.#json.has(value)) return true;
    if (depth > MAX_CHECKED_DEPTH) return false;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        if (!this.#isJson(value[i], depth + 1)) return false;
      }
    } else {
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      for (const key in value) {
        if (!this.#isJson((value as Record<string, unknown>)[key], depth + 1)) return false;
      }
    }
    this.#json.add(value);
    return true;
  }

  /**
   * The `patchUi` payload turning snapshot `previous` into snapshot `next`, encoded, or
   * `undefined` when they are equal.
   */
  patchPayload(previous: JsonValue, next: JsonValue): EncodedPayload | undefined {
    const cacheable =
      typeof previous === "object" &&
      previous !== null &&
      typeof next === "object" &&
      next !== null;
    if (cacheable) {
      const known = this.#patches.get(previous);
      if (known?.next === next) return known.payload;
    }
    const patch = diffDocuments(previous, next);
    const payload = patch.length === 0 ? undefined : new EncodedPayload(JSON.stringify({ patch }));
    if (cacheable) this.#patches.set(previous, { next, payload });
    return payload;
  }
}
