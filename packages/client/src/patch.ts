import { LenraPatchError, type PatchFailure } from "./errors.ts";

/** Adds a value at `path`, inserting into arrays ([RFC 6902 §4.1](https://www.rfc-editor.org/rfc/rfc6902#section-4.1)). */
export interface AddOperation {
  readonly op: "add";
  /** A JSON Pointer ([RFC 6901](https://www.rfc-editor.org/rfc/rfc6901)); `-` appends to an array. */
  readonly path: string;
  readonly value: unknown;
}

/** Removes the value at `path` ([RFC 6902 §4.2](https://www.rfc-editor.org/rfc/rfc6902#section-4.2)). */
export interface RemoveOperation {
  readonly op: "remove";
  readonly path: string;
}

/** Replaces the existing value at `path` ([RFC 6902 §4.3](https://www.rfc-editor.org/rfc/rfc6902#section-4.3)). */
export interface ReplaceOperation {
  readonly op: "replace";
  readonly path: string;
  readonly value: unknown;
}

/** Removes the value at `from` and adds it at `path` ([RFC 6902 §4.4](https://www.rfc-editor.org/rfc/rfc6902#section-4.4)). */
export interface MoveOperation {
  readonly op: "move";
  readonly from: string;
  readonly path: string;
}

/** Adds a copy of the value at `from` at `path` ([RFC 6902 §4.5](https://www.rfc-editor.org/rfc/rfc6902#section-4.5)). */
export interface CopyOperation {
  readonly op: "copy";
  readonly from: string;
  readonly path: string;
}

/** Fails the whole patch unless the value at `path` equals `value` ([RFC 6902 §4.6](https://www.rfc-editor.org/rfc/rfc6902#section-4.6)). */
export interface TestOperation {
  readonly op: "test";
  readonly path: string;
  readonly value: unknown;
}

/** One operation of a JSON Patch ([RFC 6902 §4](https://www.rfc-editor.org/rfc/rfc6902#section-4)). */
export type JsonPatchOperation =
  | AddOperation
  | RemoveOperation
  | ReplaceOperation
  | MoveOperation
  | CopyOperation
  | TestOperation;

/**
 * Lets another layer keep some nodes of the document opaque (listener functions stand for their
 * JSON object) while sharing this one patch engine. "Raw" values are plain JSON as the server
 * sees it; "live" values are what the document holds.
 *
 * @internal
 */
export interface PatchHooks {
  /** Turns a raw value entering the live document into its live form; must not mutate it. */
  revive(value: unknown): unknown;
  /**
   * Turns a live value entering an opaque node's JSON into raw JSON; must not mutate it. An
   * opaque node becomes the JSON object it stands for.
   */
  dehydrate(value: unknown): unknown;
  /**
   * Called with an object written in this patch whose opaqueness may have changed: `raw` tells
   * whether its members are raw (it was an opaque node's JSON) or live. Returns what the document must hold
   * there: an opaque node, or the object itself with its members converted in place.
   */
  seal(object: Record<string, unknown>, raw: boolean): unknown;
}

type JsonObject = Record<string, unknown>;
type Container = JsonObject | unknown[];
type Key = string | number;

const ROOT: readonly string[] = [];
const hasOwn = Object.hasOwn;
const isArray = Array.isArray;
const ADD = 0;
const REPLACE = 1;
const REMOVE = 2;

/**
 * Whether `value` is an object or an array (`null` is neither).
 *
 * @internal
 */
export function isContainer(value: unknown): value is Container {
  return typeof value === "object" && value !== null;
}

/**
 * Sets an own data property even when `key` is `"__proto__"` (a key JSON.parse can produce),
 * where plain assignment would replace the prototype instead.
 *
 * @internal
 */
export function setOwn(target: JsonObject, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(target, key, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  } else {
    target[key] = value;
  }
}

/**
 * Deep JSON equality: object members in any order, arrays in order, numbers by value.
 *
 * @internal
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!isContainer(a) || !isContainer(b) || isArray(a) !== isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) {
    if (!hasOwn(b, key) || !jsonEqual((a as JsonObject)[key], (b as JsonObject)[key])) {
      return false;
    }
  }
  return true;
}

/** The operation's kind and pointers, shortened, for an error message: never its value. */
function describe(operation: unknown): string {
  const { op, path, from } = (isContainer(operation) ? operation : {}) as JsonObject;
  const text = (value: unknown) =>
    typeof value === "string" ? JSON.stringify(value.slice(0, 160)) : "?";
  return `${text(op)} at ${text(path)}${from === undefined ? "" : ` from ${text(from)}`}`;
}

/**
 * The engine behind {@link applyPatch}, with hooks for opaque nodes. Containers created here are
 * "owned": they are unpublished, so later operations of the same patch write into them in place
 * instead of copying them again. The state of one patch is local variables of this call, as in
 * the view and the connection: a bundle carries them as one-letter names, where a class carries
 * `this.#field` at every use (or helper calls, when its target has no `#private` fields).
 *
 * @internal
 */
export function applyPatchWith(
  document: unknown,
  operations: unknown,
  hooks: PatchHooks | undefined,
): unknown {
  if (!isArray(operations)) {
    throw new LenraPatchError({
      failure: "invalid_patch",
      index: -1,
      operation: operations,
      message: `A JSON Patch must be an array of operations, got ${operations === null ? "null" : typeof operations}.`,
    });
  }
  let root = document;
  const owned = new Set<object>();
  let index = 0;
  // The tokens of the last pointer parsed, to share equal tokens with the next one.
  let lastTokens = ROOT;
  // Set by `parentOf` for the write that follows: whether the parent holds raw JSON (it is
  // inside an opaque node), the opaque node's copy and its place, the parent's own place.
  let raw = false;
  let opened: JsonObject | undefined;
  let openedIn: Container | undefined;
  let openedKey: Key = "";
  let grand: Container | undefined;
  let grandKey: Key = "";
  // Whether the walk copied a container: nothing below a copy can be owned.
  let copied = false;
  // Whether the value returned by the last `read` or removal is raw JSON.
  let valueRaw = false;

  for (; index < operations.length; index++) {
    const operation = operations[index] as JsonObject;
    if (!isContainer(operation) || isArray(operation)) invalid("not an object");
    const { op, path } = operation;
    if (typeof path !== "string") invalid('no string "path"');
    // Fields first, then pointers, then the document: one order for every operation.
    if (op === "add" || op === "replace") {
      const value = valueIn(operation);
      write(parse(path), op === "add" ? ADD : REPLACE, value);
    } else if (op === "remove") {
      write(parse(path), REMOVE);
    } else if (op === "test") {
      const value = valueIn(operation);
      // Opaque nodes compare as their JSON.
      if (!jsonEqual(convert(read(parse(path)), valueRaw, true), convert(value, false, true))) {
        fail("test_failed", "the value differs");
      }
    } else if (op === "move" || op === "copy") {
      const pointer = hasOwn(operation, "from") ? operation.from : 0;
      if (typeof pointer !== "string") invalid('no string "from"');
      const from = parse(pointer as string);
      const to = parse(path);
      if (op === "copy") {
        const value = read(from);
        // The copy and the original are one object: neither may be written in place anymore.
        if (isContainer(value)) disown(value);
        write(to, ADD, value, valueRaw);
      } else if (from.length <= to.length && from.every((token, i) => token === to[i])) {
        if (from.length < to.length) invalid("a value cannot move into itself");
        read(from);
      } else {
        const value = write(from, REMOVE);
        write(to, ADD, value, valueRaw);
      }
    } else {
      invalid('unknown "op"');
    }
  }
  return root;

  /** Stops the patch with a failure of the current operation: nothing of it is published. */
  function fail(failure: PatchFailure, detail: string): never {
    const operation = (operations as unknown[])[index];
    throw new LenraPatchError({
      failure,
      index,
      operation,
      message: `JSON Patch operation ${index} (${describe(operation)}): ${detail}; nothing was applied.`,
    });
  }

  function missing(): never {
    return fail("path_not_found", "the path does not exist");
  }

  function invalid(detail: string): never {
    return fail("invalid_operation", detail);
  }

  // An own member only: a polluted prototype must not supply a missing value.
  function valueIn(operation: JsonObject): unknown {
    return hasOwn(operation, "value") && operation.value !== undefined
      ? operation.value
      : invalid('no "value"');
  }

  /**
   * Splits an RFC 6901 pointer into unescaped tokens. A token spelled like the one at the same
   * place in the previous pointer is that very string: property lookups then reuse the key V8
   * already internalized, and comparing tokens is an identity check.
   */
  function parse(pointer: string): readonly string[] {
    if (pointer === "") return ROOT;
    if (pointer.charCodeAt(0) !== 47) fail("invalid_pointer", 'a pointer must start with "/"');
    const escaped = pointer.includes("~");
    const last = lastTokens;
    const tokens: string[] = [];
    for (let start = 1, end = 0; end !== pointer.length; start = end + 1) {
      end = pointer.indexOf("/", start);
      if (end < 0) end = pointer.length;
      let token = pointer.slice(start, end);
      if (escaped && token.includes("~")) {
        // RFC 6901 §4: "~1" before "~0", so "~01" stays "~1"; any other "~" is malformed.
        if (/~[^01]|~$/.test(token)) fail("invalid_pointer", 'a "~" must be followed by 0 or 1');
        token = token.replaceAll("~1", "/").replaceAll("~0", "~");
      }
      const known = last[tokens.length];
      if (token === known) token = known;
      else if (token === "__proto__") fail("forbidden_path", '"__proto__" is not allowed');
      tokens.push(token);
    }
    lastTokens = tokens;
    return tokens;
  }

  /** RFC 6901 §4 array index: "0" or digits without a leading zero; `-` only when adding. */
  function arrayIndex(token: string, length: number, adding: boolean): number {
    if (token === "-") return adding ? length : missing();
    if (!/^(0|[1-9]\d*)$/.test(token)) fail("invalid_pointer", "not an array index");
    const at = +token;
    return (adding ? at > length : at >= length) ? missing() : at;
  }

  function put(parent: Container | undefined, key: Key, value: unknown): void {
    if (parent) (parent as JsonObject)[key] = value;
    else root = value;
  }

  /** Returns `value`, found at `parent[key]`, owned: itself when it is, else an owned copy. */
  function own(value: unknown, parent: Container | undefined, key: Key): Container {
    let copy: Container;
    if (isContainer(value)) {
      if (!copied && owned.has(value)) return value;
      copy = isArray(value) ? value.slice() : { ...value };
    } else {
      // An opaque node on the way: its JSON is copied (never written into, it is published) and
      // sealed again after the write.
      const json = raw ? undefined : convert(value, false, true);
      if (!isContainer(json)) return missing();
      raw = true;
      copy = opened = { ...json };
      openedIn = parent;
      openedKey = key;
    }
    copied = true;
    owned.add(copy);
    put(parent, key, copy);
    return copy;
  }

  /** The owned container holding the last token of `path`; every container on the way is owned. */
  function parentOf(path: readonly string[]): Container {
    raw = copied = false;
    opened = grand = undefined;
    let node = own(root, undefined, "");
    for (let depth = 0; depth < path.length - 1; depth++) {
      const token = path[depth]!;
      const key = isArray(node)
        ? arrayIndex(token, node.length, false)
        : hasOwn(node, token)
          ? token
          : missing();
      grand = node;
      grandKey = key;
      node = own((node as JsonObject)[key], node, key);
    }
    return node;
  }

  /** Follows `path` without writing; opaque nodes are read as their JSON object. */
  function read(path: readonly string[]): unknown {
    let node = root;
    let inside = false;
    for (const token of path) {
      let parent = node;
      if (!isContainer(parent)) {
        parent = inside ? undefined : convert(parent, false, true);
        if (!isContainer(parent)) return missing();
        inside = true;
      }
      node = isArray(parent)
        ? parent[arrayIndex(token, parent.length, false)]
        : hasOwn(parent, token)
          ? (parent as JsonObject)[token]
          : missing();
    }
    valueRaw = inside;
    return node;
  }

  /** Marks `value` and its owned descendants as shared again (they are the top of the tree). */
  function disown(value: Container): void {
    if (!owned.delete(value)) return;
    for (const child of isArray(value) ? value : Object.values(value)) {
      if (isContainer(child)) disown(child);
    }
  }

  function convert(value: unknown, from: boolean, to: boolean): unknown {
    const type = typeof value;
    // Primitives are the same raw and live: most patches carry nothing else.
    if (!hooks || from === to || (type !== "object" && type !== "function")) return value;
    return to ? hooks.dehydrate(value) : hooks.revive(value);
  }

  /** Asks the hooks what `node` is now, and puts that in its place. */
  function seal(node: JsonObject, isRaw: boolean, parent: Container | undefined, key: Key): void {
    const sealed = hooks!.seal(node, isRaw);
    if (sealed === node) return;
    disown(node);
    put(parent, key, sealed);
  }

  /** Adds, replaces or removes the value at `path`; returns the value removed. */
  function write(path: readonly string[], mode: number, value?: unknown, isRaw = true): unknown {
    const last = path.length - 1;
    if (last < 0) {
      if (mode === REMOVE) invalid("the root cannot be removed");
      root = convert(value, isRaw, false);
      return undefined;
    }
    const parent = parentOf(path);
    const key = path[last]!;
    const inside = raw;
    let removed: unknown;
    if (isArray(parent)) {
      const at = arrayIndex(key, parent.length, mode === ADD);
      if (mode === REPLACE) parent[at] = convert(value, isRaw, inside);
      else if (mode === REMOVE)
        removed = at === parent.length - 1 ? parent.pop() : parent.splice(at, 1)[0];
      else if (at === parent.length) parent.push(convert(value, isRaw, inside));
      else parent.splice(at, 0, convert(value, isRaw, inside));
    } else {
      if (mode !== ADD && !hasOwn(parent, key)) missing();
      removed = parent[key];
      if (mode === REMOVE) delete parent[key];
      else parent[key] = convert(value, isRaw, inside);
    }
    // Re-establishes the opaque nodes: the one the write went through, or the parent when one of
    // the two members that decide whether an object is a listener changed.
    if (hooks) {
      if (opened) seal(opened, true, openedIn, openedKey);
      else if ((key === "_type" || key === "code") && !isArray(parent)) {
        seal(parent, false, grand, grandKey);
      }
    }
    valueRaw = inside;
    return removed;
  }
}

/**
 * Applies a JSON Patch and returns the new document, leaving `document` and `operations`
 * untouched: only the containers on the touched paths are copied (once per patch), every other
 * subtree is shared with `document`, and values from the operations are inserted as they are.
 * All or nothing: on failure it throws a {@link LenraPatchError} naming the failing operation and
 * returns nothing. Pointers with a `__proto__` segment are refused and only own properties are
 * followed, so no patch reaches a prototype.
 *
 * The result has the type of `document`: the caller vouches that the patch keeps its shape.
 *
 * @example
 * ```ts
 * const next = applyPatch({ count: 1, items: ["a"] }, [
 *   { op: "replace", path: "/count", value: 2 },
 *   { op: "add", path: "/items/-", value: "b" },
 * ]);
 * // next: { count: 2, items: ["a", "b"] }; the input is unchanged.
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc6902 (JSON Patch)
 * @see https://www.rfc-editor.org/rfc/rfc6901 (JSON Pointer)
 */
export function applyPatch<T>(document: T, operations: readonly JsonPatchOperation[]): T {
  return applyPatchWith(document, operations, undefined) as T;
}
