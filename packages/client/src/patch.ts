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
  /** Turns a live value entering an opaque node's JSON into raw JSON; must not mutate it. */
  dehydrate(value: unknown): unknown;
  /** The JSON object an opaque node stands for, or `undefined` when `node` is ordinary. */
  unwrap(node: unknown): Readonly<Record<string, unknown>> | undefined;
  /**
   * Called with an object written in this patch whose opaqueness may have changed: `raw` tells
   * whether its members are raw (it was unwrapped) or live. Returns what the document must hold
   * there: an opaque node, or the object itself with its members converted in place.
   */
  seal(object: Record<string, unknown>, raw: boolean): unknown;
}

type JsonObject = Record<string, unknown>;
type Container = JsonObject | unknown[];
type Key = string | number;

const ROOT: readonly string[] = Object.freeze([]);
const hasOwn = Object.hasOwn;
const isArray = Array.isArray;
const ADD = 0;
const REPLACE = 1;
const REMOVE = 2;

function isContainer(value: unknown): value is Container {
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
 * Deep JSON equality: object members in any order, arrays in order, numbers by value. Opaque
 * nodes compare as their JSON object when `unwrap` is given.
 *
 * @internal
 */
export function jsonEqual(a: unknown, b: unknown, unwrap?: PatchHooks["unwrap"]): boolean {
  if (a === b) return true;
  if (unwrap !== undefined) {
    if (typeof a === "function") a = unwrap(a) ?? a;
    if (typeof b === "function") b = unwrap(b) ?? b;
  }
  if (!isContainer(a) || !isContainer(b) || isArray(a) !== isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) {
    if (!hasOwn(b, key) || !jsonEqual((a as JsonObject)[key], (b as JsonObject)[key], unwrap)) {
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
 * One patch being applied. Containers created here are "owned": they are unpublished, so later
 * operations of the same patch write into them in place instead of copying them again.
 */
class Patcher {
  root: unknown;
  readonly #operations: readonly unknown[];
  readonly #hooks: PatchHooks | undefined;
  readonly #owned = new Set<object>();
  #index = 0;
  // The tokens of the last pointer parsed, to share equal tokens with the next one.
  #lastTokens = ROOT;
  // Set by `#parentOf` for the write that follows: whether the parent holds raw JSON (it is
  // inside an opaque node), the opaque node's copy and its place, the parent's own place.
  #raw = false;
  #opened: JsonObject | undefined;
  #openedIn: Container | undefined;
  #openedKey: Key = "";
  #grand: Container | undefined;
  #grandKey: Key = "";
  // Whether the walk copied a container: nothing below a copy can be owned.
  #copied = false;
  // Whether the value returned by the last `#read` or removal is raw JSON.
  #valueRaw = false;

  constructor(document: unknown, operations: readonly unknown[], hooks: PatchHooks | undefined) {
    this.root = document;
    this.#operations = operations;
    this.#hooks = hooks;
  }

  run(): unknown {
    const operations = this.#operations;
    for (; this.#index < operations.length; this.#index++) {
      const operation = operations[this.#index] as JsonObject;
      if (!isContainer(operation) || isArray(operation)) {
        this.#invalid("not an object");
      }
      const { op, path } = operation;
      if (typeof path !== "string") this.#invalid('no string "path"');
      // Fields first, then pointers, then the document: one order for every operation.
      if (op === "add" || op === "replace") {
        const value = this.#valueOf(operation);
        this.#write(this.#parse(path), op === "add" ? ADD : REPLACE, value);
      } else if (op === "remove") {
        this.#write(this.#parse(path), REMOVE);
      } else if (op === "test") {
        const value = this.#valueOf(operation);
        if (!jsonEqual(this.#read(this.#parse(path)), value, this.#hooks?.unwrap)) {
          this.#fail("test_failed", "the value differs");
        }
      } else if (op === "move" || op === "copy") {
        const pointer = hasOwn(operation, "from") ? operation.from : 0;
        if (typeof pointer !== "string") this.#invalid('no string "from"');
        const from = this.#parse(pointer as string);
        const to = this.#parse(path);
        if (op === "copy") {
          const value = this.#read(from);
          // The copy and the original are one object: neither may be written in place anymore.
          if (isContainer(value)) this.#disown(value);
          this.#write(to, ADD, value, this.#valueRaw);
        } else if (from.length <= to.length && from.every((token, i) => token === to[i])) {
          if (from.length < to.length) {
            this.#invalid("a value cannot move into itself");
          }
          this.#read(from);
        } else {
          const value = this.#write(from, REMOVE);
          this.#write(to, ADD, value, this.#valueRaw);
        }
      } else {
        this.#invalid('unknown "op"');
      }
    }
    return this.root;
  }

  /** Stops the patch with a failure of the current operation: nothing of it is published. */
  #fail(failure: PatchFailure, detail: string): never {
    const index = this.#index;
    const operation = this.#operations[index];
    throw new LenraPatchError({
      failure,
      index,
      operation,
      message: `JSON Patch operation ${index} (${describe(operation)}): ${detail}; nothing was applied.`,
    });
  }

  #missing(): never {
    return this.#fail("path_not_found", "the path does not exist");
  }

  #invalid(detail: string): never {
    return this.#fail("invalid_operation", detail);
  }

  // An own member only: a polluted prototype must not supply a missing value.
  #valueOf(operation: JsonObject): unknown {
    return hasOwn(operation, "value") && operation.value !== undefined
      ? operation.value
      : this.#invalid('no "value"');
  }

  /**
   * Splits an RFC 6901 pointer into unescaped tokens. A token spelled like the one at the same
   * place in the previous pointer is that very string: property lookups then reuse the key V8
   * already internalized, and comparing tokens is an identity check.
   */
  #parse(pointer: string): readonly string[] {
    if (pointer === "") return ROOT;
    if (pointer.charCodeAt(0) !== 47) {
      this.#fail("invalid_pointer", 'a pointer must start with "/"');
    }
    const escaped = pointer.includes("~");
    const last = this.#lastTokens;
    const tokens: string[] = [];
    for (let start = 1, end = 0; end !== pointer.length; start = end + 1) {
      end = pointer.indexOf("/", start);
      if (end < 0) end = pointer.length;
      let token = pointer.slice(start, end);
      if (escaped && token.includes("~")) {
        // RFC 6901 §4: "~1" before "~0", so "~01" stays "~1"; any other "~" is malformed.
        if (/~[^01]|~$/.test(token)) {
          this.#fail("invalid_pointer", 'a "~" must be followed by 0 or 1');
        }
        token = token.replaceAll("~1", "/").replaceAll("~0", "~");
      }
      const known = last[tokens.length];
      if (token === known) token = known;
      else if (token === "__proto__") {
        this.#fail("forbidden_path", '"__proto__" is not allowed');
      }
      tokens.push(token);
    }
    this.#lastTokens = tokens;
    return tokens;
  }

  /** RFC 6901 §4 array index: "0" or digits without a leading zero; `-` only when adding. */
  #arrayIndex(token: string, length: number, adding: boolean): number {
    if (token === "-") {
      return adding ? length : this.#missing();
    }
    let at = token === "" ? -1 : 0;
    for (let i = 0; at >= 0 && i < token.length; i++) {
      const digit = token.charCodeAt(i) - 48;
      at = digit >= 0 && digit <= 9 && (i === 0 || at > 0) ? at * 10 + digit : -1;
    }
    if (at < 0) {
      this.#fail("invalid_pointer", "not an array index");
    }
    return (adding ? at > length : at >= length) ? this.#missing() : at;
  }

  #put(parent: Container | undefined, key: Key, value: unknown): void {
    if (parent) (parent as JsonObject)[key] = value;
    else this.root = value;
  }

  /** Returns `value`, found at `parent[key]`, owned: itself when it is, else an owned copy. */
  #own(value: unknown, parent: Container | undefined, key: Key): Container {
    let copy: Container;
    if (isContainer(value)) {
      if (!this.#copied && this.#owned.has(value)) return value;
      copy = isArray(value) ? value.slice() : { ...value };
    } else {
      // An opaque node on the way: its JSON is copied (never written into, it is published) and
      // sealed again after the write.
      const json = this.#raw ? undefined : this.#hooks?.unwrap(value);
      if (!json) {
        return this.#missing();
      }
      this.#raw = true;
      copy = this.#opened = { ...json };
      this.#openedIn = parent;
      this.#openedKey = key;
    }
    this.#copied = true;
    this.#owned.add(copy);
    this.#put(parent, key, copy);
    return copy;
  }

  /** The owned container holding the last token of `path`; every container on the way is owned. */
  #parentOf(path: readonly string[]): Container {
    this.#raw = this.#copied = false;
    this.#opened = this.#grand = undefined;
    let node = this.#own(this.root, undefined, "");
    for (let depth = 0; depth < path.length - 1; depth++) {
      const token = path[depth]!;
      const key = isArray(node)
        ? this.#arrayIndex(token, node.length, false)
        : hasOwn(node, token)
          ? token
          : this.#missing();
      this.#grand = node;
      this.#grandKey = key;
      node = this.#own((node as JsonObject)[key], node, key);
    }
    return node;
  }

  /** Follows `path` without writing; opaque nodes are read as their JSON object. */
  #read(path: readonly string[]): unknown {
    let node = this.root;
    let raw = false;
    for (const token of path) {
      let parent = node;
      if (!isContainer(parent)) {
        parent = raw ? undefined : this.#hooks?.unwrap(parent);
        if (!parent) return this.#missing();
        raw = true;
      }
      node = isArray(parent)
        ? parent[this.#arrayIndex(token, parent.length, false)]
        : hasOwn(parent, token)
          ? (parent as JsonObject)[token]
          : this.#missing();
    }
    this.#valueRaw = raw;
    return node;
  }

  /** Marks `value` and its owned descendants as shared again (they are the top of the tree). */
  #disown(value: Container): void {
    if (!this.#owned.delete(value)) return;
    for (const child of isArray(value) ? value : Object.values(value)) {
      if (isContainer(child)) this.#disown(child);
    }
  }

  #convert(value: unknown, from: boolean, to: boolean): unknown {
    const hooks = this.#hooks;
    const type = typeof value;
    // Primitives are the same raw and live: most patches carry nothing else.
    if (!hooks || from === to || (type !== "object" && type !== "function")) return value;
    return to ? hooks.dehydrate(value) : hooks.revive(value);
  }

  /** Asks the hooks what `node` is now, and puts that in its place. */
  #seal(node: JsonObject, raw: boolean, parent: Container | undefined, key: Key): void {
    const sealed = this.#hooks!.seal(node, raw);
    if (sealed === node) return;
    this.#disown(node);
    this.#put(parent, key, sealed);
  }

  /** Adds, replaces or removes the value at `path`; returns the value removed. */
  #write(path: readonly string[], mode: number, value?: unknown, isRaw = true): unknown {
    const last = path.length - 1;
    if (last < 0) {
      if (mode === REMOVE) this.#invalid("the root cannot be removed");
      this.root = this.#convert(value, isRaw, false);
      return undefined;
    }
    const parent = this.#parentOf(path);
    const key = path[last]!;
    const raw = this.#raw;
    let removed: unknown;
    if (isArray(parent)) {
      const at = this.#arrayIndex(key, parent.length, mode === ADD);
      if (mode === REPLACE) parent[at] = this.#convert(value, isRaw, raw);
      else if (mode === REMOVE)
        removed = at === parent.length - 1 ? parent.pop() : parent.splice(at, 1)[0];
      else if (at === parent.length) parent.push(this.#convert(value, isRaw, raw));
      else parent.splice(at, 0, this.#convert(value, isRaw, raw));
    } else {
      if (mode !== ADD && !hasOwn(parent, key)) this.#missing();
      removed = parent[key];
      if (mode === REMOVE) delete parent[key];
      else parent[key] = this.#convert(value, isRaw, raw);
    }
    // Re-establishes the opaque nodes: the one the write went through, or the parent when one of
    // the two members that decide whether an object is a listener changed.
    if (this.#hooks) {
      const opened = this.#opened;
      if (opened) this.#seal(opened, true, this.#openedIn, this.#openedKey);
      else if ((key === "_type" || key === "code") && !isArray(parent)) {
        this.#seal(parent, false, this.#grand, this.#grandKey);
      }
    }
    this.#valueRaw = raw;
    return removed;
  }
}

/**
 * The engine behind {@link applyPatch}, with hooks for opaque nodes.
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
  return new Patcher(document, operations, hooks).run();
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
