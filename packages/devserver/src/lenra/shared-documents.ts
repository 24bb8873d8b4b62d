import { type JsonValue, toJsonSnapshot } from "../shared/json.ts";
import { diffDocuments } from "./diff.ts";

/**
 * Work shared by every channel that shows the same document: when 200 sessions get one shared
 * render, the copy, the diff against the document they all hold and the `patchUi` payload's
 * JSON are computed once, not 200 times. Keyed by object identity, so a document given to a
 * sink must never be changed afterwards (backends build a new one per render).
 */
export class SharedDocuments {
  readonly #snapshots = new WeakMap<object, JsonValue>();
  readonly #patches = new WeakMap<object, { next: object; text: string | undefined }>();

  /** A private JSON copy of `document`, the same one for every caller given the same object. */
  snapshot(document: JsonValue): JsonValue {
    if (typeof document !== "object" || document === null) return document;
    let snapshot = this.#snapshots.get(document);
    if (snapshot === undefined) {
      snapshot = toJsonSnapshot(document);
      this.#snapshots.set(document, snapshot);
      // A snapshot given back (a resend of the same document) maps to itself.
      if (typeof snapshot === "object" && snapshot !== null)
        this.#snapshots.set(snapshot, snapshot);
    }
    return snapshot;
  }

  /**
   * The `patchUi` payload turning snapshot `previous` into snapshot `next`, as JSON text, or
   * `undefined` when they are equal.
   */
  patchText(previous: JsonValue, next: JsonValue): string | undefined {
    const cacheable =
      typeof previous === "object" &&
      previous !== null &&
      typeof next === "object" &&
      next !== null;
    if (cacheable) {
      const known = this.#patches.get(previous);
      if (known?.next === next) return known.text;
    }
    const patch = diffDocuments(previous, next);
    const text = patch.length === 0 ? undefined : JSON.stringify({ patch });
    if (cacheable) this.#patches.set(previous, { next, text });
    return text;
  }
}
