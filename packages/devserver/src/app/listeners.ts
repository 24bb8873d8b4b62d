import { createHmac, randomBytes } from "node:crypto";
import { canonicalJson, type JsonObject, type JsonValue } from "../shared/json.ts";

/**
 * Listeners, from what an app writes to what a client may call: the app-side object, and the
 * codec that turns a name and props into an opaque code and finds them again from a document a
 * session was sent. The one place listener codes are made.
 */

/**
 * A listener as an app writes it in a view.
 *
 * @example
 * ```ts
 * const onAdd: AppListener = { _type: "listener", name: "add", props: { amount: 5 } };
 * ```
 */
export type AppListener = {
  _type: "listener";
  name: string;
  props?: JsonObject;
};

/** What a code stands for on the server. */
export interface ListenerTarget {
  readonly name: string;
  readonly props: JsonObject | undefined;
}

/**
 * Builds the listener object a test app's view puts in its document, as `@lenra/app`'s
 * `Listener` does: the client receives it as `{ _type: "listener", code }` and calls it with
 * `run`.
 *
 * @example
 * ```ts
 * view: (state) => ({ value: state.count, onAdd: listener("add", { amount: 5 }) }),
 * ```
 * @see PROTOCOL.md §4
 */
export function listener(name: string, props?: JsonObject): AppListener {
  if (typeof name !== "string" || name === "") {
    throw new TypeError("listener(name): `name` must be a non-empty string.");
  }
  return props === undefined ? { _type: "listener", name } : { _type: "listener", name, props };
}

/** A view rendered for a route, with its listeners encoded. */
export interface RenderedTree {
  /** The document, never changed afterwards. */
  readonly document: JsonValue;
  /** The codes of the listeners the document holds, and what each stands for. */
  listeners(): ReadonlyMap<string, ListenerTarget>;
}

/** Memoised codes kept at most, so an app that renders ever new props cannot grow it forever. */
const MEMO_LIMIT = 50_000;

/**
 * Makes listener codes and finds listeners from them. A code is an HMAC-SHA256 of the
 * listener's name and canonical props under a key drawn at random for each codec (one per dev
 * server run): equal listeners get equal codes across renders and sessions, and a code tells
 * nothing about its props, even low-entropy ones, to anyone without the key.
 *
 * Codes are memoised by canonical name and props, and an encoder that reuses an unchanged
 * listener object from the previous render does not ask for its code at all. The codec keeps no
 * list of the codes it made: what a code stands for is attached to the listener objects of the
 * documents themselves, so it lives exactly as long as a document that holds it.
 *
 * @see PROTOCOL.md §4
 */
export class ListenerCodec {
  readonly #key: Uint8Array;
  readonly #memo = new Map<string, string>();
  readonly #targets = new WeakMap<object, ListenerTarget>();
  readonly #indexes = new WeakMap<object, Map<string, ListenerTarget>>();

  /** `key` defaults to 32 random bytes. */
  constructor(key: Uint8Array = randomBytes(32)) {
    this.#key = key;
  }

  /** The code of a listener. */
  code(name: string, props: JsonObject | undefined): string {
    const canonical = canonicalJson([name, props ?? null]);
    let code = this.#memo.get(canonical);
    if (code === undefined) {
      code = createHmac("sha256", this.#key).update(canonical).digest("base64url");
      if (this.#memo.size >= MEMO_LIMIT) this.#memo.clear();
      this.#memo.set(canonical, code);
    }
    return code;
  }

  /**
   * Makes `members` (a fresh object with the listener's keys other than `name`, `props` and
   * `type`) the object a client receives for `target`: its `code` is set, last.
   */
  encode(target: ListenerTarget, members: JsonObject): JsonObject {
    members.code = this.code(target.name, target.props);
    this.#targets.set(members, target);
    return members;
  }

  /** What an object made by {@link encode} stands for; `undefined` for any other object. */
  targetOf(value: unknown): ListenerTarget | undefined {
    return typeof value === "object" && value !== null ? this.#targets.get(value) : undefined;
  }

  /**
   * A {@link RenderedTree} of `document`: its codes are those of the listener objects this
   * codec encoded in it, indexed on the first lookup, once per document.
   */
  tree(document: JsonValue): RenderedTree {
    return { document, listeners: () => this.#index(document) };
  }

  #index(document: JsonValue): ReadonlyMap<string, ListenerTarget> {
    if (typeof document !== "object" || document === null) return new Map();
    let index = this.#indexes.get(document);
    if (!index) {
      index = new Map();
      this.#collect(document, index);
      this.#indexes.set(document, index);
    }
    return index;
  }

  #collect(value: JsonValue, index: Map<string, ListenerTarget>): void {
    if (Array.isArray(value)) {
      for (const item of value) this.#collect(item, index);
      return;
    }
    if (typeof value !== "object" || value === null) return;
    const target = this.#targets.get(value);
    if (target && typeof value.code === "string") {
      index.set(value.code, target);
      return;
    }
    for (const key in value) this.#collect(value[key] as JsonValue, index);
  }
}

/** A JSON pointer for messages. */
export function pointer(path: readonly (string | number)[]): string {
  return path.length === 0 ? "the root" : `/${path.join("/")}`;
}
