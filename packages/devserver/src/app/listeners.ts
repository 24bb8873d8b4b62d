import { createHash } from "node:crypto";
import { canonicalJson, isPlainObject, type JsonObject, type JsonValue } from "../shared/json.ts";

/**
 * Listeners, from what an app writes to what a client may call: the app-side object, its
 * opaque code, the encoding of a view's answer, and one session's registry of the codes it was
 * sent. The one place listener codes are made and kept.
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

/**
 * The code of a listener: a hash of its name and canonical props, so equal listeners get equal
 * codes across renders and sessions, and a client cannot guess what a code stands for.
 */
export function listenerCode(name: string, props: JsonObject | undefined): string {
  return createHash("sha256")
    .update(canonicalJson([name, props ?? null]))
    .digest("base64url");
}

/** A view's answer with its listeners encoded, and what each code stands for. */
export interface EncodedView {
  readonly document: JsonValue;
  readonly listeners: Map<string, ListenerTarget>;
}

/** A view, with its nested views rendered in place and its listeners encoded. */
export interface RenderedTree {
  readonly document: JsonValue;
  /** Every collection a view of the tree read: a change to one of them makes it stale. */
  readonly collections: ReadonlySet<string>;
  /** The listener codes the document holds, and what each stands for. */
  readonly listeners: ReadonlyMap<string, ListenerTarget>;
}

export interface EncodeOptions {
  /** The view's name, for notices. */
  readonly view: string;
  /** Hears of what Lenra would leave uncallable; `key` is the same for the same thing. */
  readonly notice?: ((key: string, message: string) => void) | undefined;
  /** Called for each `{ _type: "view" }` object (left in place) with where it is. */
  readonly nestedView?:
    | ((value: Record<string, unknown>, path: (string | number)[]) => void)
    | undefined;
}

/**
 * Encodes the listeners of a JSON answer as Lenra's JSON builder does: a listener's `name` and
 * `props` become a `code` and its `type` key goes, its other keys stay as they are; a listener
 * with `navTo` and no name is `{ navTo }`; a nameless one and an object with any other `_type`
 * (a nested view included) are left as they are, listeners inside them too. The input is never
 * changed.
 *
 * @see PROTOCOL.md §4
 */
export function encodeListeners(answer: unknown, options: EncodeOptions): EncodedView {
  const { view, notice, nestedView } = options;
  const listeners = new Map<string, ListenerTarget>();
  const path: (string | number)[] = [];

  const encodeListener = (value: Record<string, unknown>): JsonValue => {
    if (typeof value.name !== "string") {
      if (Object.hasOwn(value, "navTo")) return { navTo: value.navTo as JsonValue };
      notice?.(
        `nameless:${view}`,
        `The view "${view}" has a listener without a name at ${pointer(path)}: Lenra leaves it as it is, so it cannot be called. Give it a name.`,
      );
      return value as JsonValue;
    }
    const props = isPlainObject(value.props) ? (value.props as JsonObject) : undefined;
    const code = listenerCode(value.name, props);
    if (!listeners.has(code)) listeners.set(code, { name: value.name, props });
    const entries = Object.entries(value).filter(
      ([key]) => key !== "name" && key !== "props" && key !== "type",
    ) as [string, JsonValue][];
    entries.push(["code", code]);
    // fromEntries defines own properties, so a "__proto__" key stays data.
    return Object.fromEntries(entries);
  };

  const walk = (value: unknown): JsonValue => {
    if (Array.isArray(value)) {
      return value.map((item, index) => {
        path.push(index);
        const walked = walk(item);
        path.pop();
        return walked;
      });
    }
    if (!isPlainObject(value)) return value as JsonValue;
    if (Object.hasOwn(value, "_type")) {
      if (value._type === "listener") return encodeListener(value);
      if (value._type === "view") nestedView?.(value, [...path]);
      else if (holdsListener(value)) {
        notice?.(
          `type:${view}:${String(value._type)}`,
          `The view "${view}" returned an object with _type "${String(value._type)}" that holds listeners: in JSON views Lenra leaves such objects as they are, so those listeners keep their name and props and cannot be called.`,
        );
      }
      return value as JsonValue;
    }
    const entries: [string, JsonValue][] = [];
    for (const [key, member] of Object.entries(value)) {
      path.push(key);
      entries.push([key, walk(member)]);
      path.pop();
    }
    return Object.fromEntries(entries);
  };

  return { document: walk(answer), listeners };
}

function holdsListener(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(holdsListener);
  if (!isPlainObject(value)) return false;
  if (value._type === "listener") return true;
  return Object.values(value).some(holdsListener);
}

/** A JSON pointer for messages. */
export function pointer(path: readonly (string | number)[]): string {
  return path.length === 0 ? "the root" : `/${path.join("/")}`;
}

/**
 * One session's listener codes: a `run` is accepted only for a code this session was sent, so
 * a code resolves only in the session that rendered it.
 *
 * Codes are kept for the session's lifetime rather than only while shown, so a click on a
 * listener the client still shows never fails because a newer render dropped it.
 */
export class ListenerCodes {
  readonly #targets = new Map<string, ListenerTarget>();

  /** Remembers the codes a render sent to this session. */
  learn(listeners: ReadonlyMap<string, ListenerTarget>): void {
    for (const [code, target] of listeners) {
      if (!this.#targets.has(code)) this.#targets.set(code, target);
    }
  }

  /** The listener behind `code`, if this session was sent it. */
  resolve(code: string): ListenerTarget | undefined {
    return this.#targets.get(code);
  }

  /** Number of distinct codes this session was sent. */
  get size(): number {
    return this.#targets.size;
  }
}
