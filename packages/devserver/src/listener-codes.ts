import { createHash } from "node:crypto";
import {
  canonicalJson,
  isPlainObject,
  type JsonObject,
  type JsonValue,
  toJsonSnapshot,
} from "./json.ts";

/** A listener as an app writes it in a view. */
export type AppListener = {
  _type: "listener";
  name: string;
  props?: JsonObject;
};

/** A listener as the client receives it: the name and props replaced by an opaque code. */
export type ClientListener = {
  _type: "listener";
  code: string;
};

/** What a code stands for on the server. */
export interface ListenerTarget {
  name: string;
  props: JsonObject | undefined;
}

/**
 * Builds the listener object an app puts in a view.
 *
 * @see PROTOCOL.md §4
 */
export function listener(name: string, props?: JsonObject): AppListener {
  if (typeof name !== "string" || name === "") {
    throw new TypeError("listener(name): `name` must be a non-empty string.");
  }
  return props === undefined ? { _type: "listener", name } : { _type: "listener", name, props };
}

/** True for `{ _type: "listener", name }` objects, the app-side form. */
export function isAppListener(value: unknown): value is AppListener {
  return isPlainObject(value) && value._type === "listener" && typeof value.name === "string";
}

/**
 * The code of a listener: a hash of its name and canonical props, so equal listeners get equal
 * codes across renders and a client cannot guess what a code stands for.
 */
export function listenerCode(name: string, props: JsonObject | undefined): string {
  return createHash("sha256")
    .update(canonicalJson([name, props ?? null]))
    .digest("base64url");
}

/**
 * One session's translation between app listeners and client codes: {@link encode} rewrites
 * every app listener in a view, at any depth, and remembers its code so {@link resolve} can map
 * a `run` back. A code resolves only in the session that rendered it.
 *
 * Codes are kept for the session's lifetime rather than only while rendered, so a click on a
 * listener the client still shows never fails because a newer render dropped it.
 */
export class ListenerCodes {
  readonly #targets = new Map<string, ListenerTarget>();

  /** A copy of `view` in which every app listener is replaced by its client form. */
  encode(view: JsonValue): JsonValue {
    if (Array.isArray(view)) return view.map((item) => this.encode(item));
    if (!isPlainObject(view)) return view;
    if (isAppListener(view)) return this.#encodeListener(view);
    const copy: JsonObject = {};
    for (const [key, value] of Object.entries(view)) copy[key] = this.encode(value);
    return copy;
  }

  /** The listener behind `code`, if this session rendered it. */
  resolve(code: string): ListenerTarget | undefined {
    return this.#targets.get(code);
  }

  /** Number of distinct codes handed out. */
  get size(): number {
    return this.#targets.size;
  }

  #encodeListener(app: AppListener): JsonObject {
    const props = app.props === undefined ? undefined : (toJsonSnapshot(app.props) as JsonObject);
    const code = listenerCode(app.name, props);
    if (!this.#targets.has(code)) this.#targets.set(code, { name: app.name, props });
    // Other keys stay: the protocol lets the server keep them, and apps use them as labels.
    const client: JsonObject = {};
    for (const [key, value] of Object.entries(app)) {
      if (key !== "name" && key !== "props") client[key] = this.encode(value as JsonValue);
    }
    client.code = code;
    return client;
  }
}
