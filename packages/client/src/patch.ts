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

/** Carries a failure up to the operation loop, which adds the index and the operation. */
class Fault {
  constructor(
    readonly failure: PatchFailure,
    readonly detail: string,
  ) {}
}

const ROOT: readonly string[] = Object.freeze([]);
const hasOwn = Object.hasOwn;

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
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i], unwrap)) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) {
    if (!hasOwn(b, key)) return false;
    if (!jsonEqual((a as JsonObject)[key], (b as JsonObject)[key], unwrap)) return false;
  }
  return true;
}

function unescapeToken(token: string): string {
  if (token.indexOf("~") === -1) return token;
  // RFC 6901 §4: "~1" before "~0", so "~01" stays "~1"; any other "~" is malformed.
  for (let i = token.indexOf("~"); i !== -1; i = token.indexOf("~", i + 1)) {
    const next = token.charCodeAt(i + 1);
    if (next !== 48 && next !== 49) {
      throw new Fault("invalid_pointer", 'the pointer has a "~" not followed by 0 or 1');
    }
  }
  return token.replaceAll("~1", "/").replaceAll("~0", "~");
}

/**
 * Splits an RFC 6901 pointer into unescaped tokens. A token spelled like the one at the same
 * place in `previous` is that very string: property lookups then reuse the key V8 already
 * internalized, and comparing with the chain's tokens is an identity check.
 */
function parsePointer(pointer: string, previous: readonly string[]): readonly string[] {
  const length = pointer.length;
  if (length === 0) return ROOT;
  if (pointer.charCodeAt(0) !== 47) {
    throw new Fault("invalid_pointer", 'a JSON Pointer must be empty or start with "/"');
  }
  const escapes = pointer.indexOf("~") !== -1;
  const tokens: string[] = [];
  let start = 1;
  for (;;) {
    let end = pointer.indexOf("/", start);
    if (end === -1) end = length;
    let token = pointer.slice(start, end);
    if (escapes) token = unescapeToken(token);
    const known = previous[tokens.length];
    if (token === known) token = known;
    else if (token === "__proto__") {
      throw new Fault("forbidden_path", 'the pointer has a "__proto__" segment');
    }
    tokens.push(token);
    if (end === length) return tokens;
    start = end + 1;
  }
}

/** RFC 6901 §4 array index: "0" or digits without a leading zero; `-` only where allowed. */
function arrayIndex(token: string, length: number, insert: boolean): number {
  const size = token.length;
  if (size === 1) {
    const digit = token.charCodeAt(0) - 48;
    if (digit >= 0 && digit <= 9) {
      if (insert ? digit > length : digit >= length) throw outOfBounds();
      return digit;
    }
    if (token === "-") {
      if (insert) return length;
      throw new Fault("path_not_found", 'the "-" index names no existing array element');
    }
  }
  if (size === 0 || token.charCodeAt(0) === 48) throw notAnIndex();
  let index = 0;
  for (let i = 0; i < size; i++) {
    const digit = token.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) throw notAnIndex();
    index = index * 10 + digit;
  }
  if (insert ? index > length : index >= length) throw outOfBounds();
  return index;
}

function notAnIndex(): Fault {
  return new Fault(
    "invalid_pointer",
    'the pointer goes into an array with a segment that is not an index (digits without leading zero, or "-")',
  );
}

function outOfBounds(): Fault {
  return new Fault("path_not_found", "the array index is out of bounds");
}

function missing(): Fault {
  return new Fault("path_not_found", "the path does not exist");
}

function isContainer(value: unknown): value is Container {
  return typeof value === "object" && value !== null;
}

function sameTokens(a: readonly string[], b: readonly string[], length: number): boolean {
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * One patch being applied. Containers created here are "owned": they are unpublished, so later
 * operations of the same patch write into them in place instead of copying them again.
 */
class Patcher {
  root: unknown;
  readonly #hooks: PatchHooks | undefined;
  readonly #owned = new Set<object>();
  // The tokens of the last pointer parsed, to share equal tokens with the next one.
  #lastTokens: readonly string[] = ROOT;
  // Set by `#parentOf`, read by the write that follows: whether the parent holds raw JSON (it is
  // inside an opaque node), the opaque node's copy and where it sits, the parent's own place.
  #raw = false;
  #sealNode: JsonObject | undefined;
  #sealParent: Container | undefined;
  #sealKey: string | number = "";
  #grand: Container | undefined;
  #grandKey: string | number = "";
  // Whether `#own` copied a container in the current walk: nothing below a copy can be owned.
  #copied = false;
  // Whether the value returned by the last `#read` or `#remove` is raw JSON.
  #valueRaw = false;

  constructor(document: unknown, hooks: PatchHooks | undefined) {
    this.root = document;
    this.#hooks = hooks;
  }

  apply(operation: unknown): void {
    if (typeof operation !== "object" || operation === null || Array.isArray(operation)) {
      throw new Fault("invalid_operation", "the operation is not an object");
    }
    const op = operation as { op?: unknown; path?: unknown; from?: unknown; value?: unknown };
    const path = op.path;
    if (typeof path !== "string") {
      throw new Fault("invalid_operation", 'the operation has no string "path"');
    }
    // Fields first, then pointers, then the document: one order for every operation.
    switch (op.op) {
      case "add": {
        const value = valueIn(op);
        this.#add(this.#parse(path), value, true);
        return;
      }
      case "remove":
        this.#remove(this.#parse(path));
        return;
      case "replace": {
        const value = valueIn(op);
        this.#replace(this.#parse(path), value);
        return;
      }
      case "move": {
        const from = this.#parse(fromIn(op));
        this.#move(from, this.#parse(path));
        return;
      }
      case "copy": {
        const from = this.#parse(fromIn(op));
        this.#copy(from, this.#parse(path));
        return;
      }
      case "test": {
        const expected = valueIn(op);
        const actual = this.#read(this.#parse(path));
        if (!jsonEqual(actual, expected, this.#hooks?.unwrap)) {
          throw new Fault("test_failed", "the value differs from the expected one");
        }
        return;
      }
      default:
        throw new Fault("invalid_operation", 'the "op" is not one of RFC 6902');
    }
  }

  #parse(pointer: string): readonly string[] {
    const tokens = parsePointer(pointer, this.#lastTokens);
    this.#lastTokens = tokens;
    return tokens;
  }

  #add(tokens: readonly string[], value: unknown, valueRaw: boolean): void {
    const last = tokens.length - 1;
    if (last < 0) {
      this.root = this.#convert(value, valueRaw, false);
      return;
    }
    const parent = this.#parentOf(tokens);
    const key = tokens[last]!;
    const converted = this.#convert(value, valueRaw, this.#raw);
    if (Array.isArray(parent)) {
      const index = arrayIndex(key, parent.length, true);
      if (index === parent.length) parent.push(converted);
      else parent.splice(index, 0, converted);
    } else {
      parent[key] = converted;
    }
    this.#settle(parent, key);
  }

  #remove(tokens: readonly string[]): unknown {
    const last = tokens.length - 1;
    if (last < 0) throw new Fault("invalid_operation", "the whole document cannot be removed");
    const parent = this.#parentOf(tokens);
    const key = tokens[last]!;
    let removed: unknown;
    if (Array.isArray(parent)) {
      const index = arrayIndex(key, parent.length, false);
      removed = parent[index];
      if (index === parent.length - 1) parent.pop();
      else parent.splice(index, 1);
    } else {
      if (!hasOwn(parent, key)) throw missing();
      removed = parent[key];
      delete parent[key];
    }
    const raw = this.#raw;
    this.#settle(parent, key);
    this.#valueRaw = raw;
    return removed;
  }

  #replace(tokens: readonly string[], value: unknown): void {
    const last = tokens.length - 1;
    if (last < 0) {
      this.root = this.#convert(value, true, false);
      return;
    }
    const parent = this.#parentOf(tokens);
    const key = tokens[last]!;
    if (Array.isArray(parent)) {
      parent[arrayIndex(key, parent.length, false)] = this.#convert(value, true, this.#raw);
    } else {
      if (!hasOwn(parent, key)) throw missing();
      parent[key] = this.#convert(value, true, this.#raw);
    }
    this.#settle(parent, key);
  }

  #move(from: readonly string[], path: readonly string[]): void {
    if (from.length <= path.length && sameTokens(from, path, from.length)) {
      if (from.length < path.length) {
        throw new Fault(
          "invalid_operation",
          "a value cannot be moved into one of its own children",
        );
      }
      this.#read(from);
      return;
    }
    const value = this.#remove(from);
    this.#add(path, value, this.#valueRaw);
  }

  #copy(from: readonly string[], path: readonly string[]): void {
    const value = this.#read(from);
    // The copy and the original would be one object: neither may be written in place anymore.
    if (isContainer(value)) this.#disown(value);
    this.#add(path, value, this.#valueRaw);
  }

  /** Follows `tokens` without writing; opaque nodes are read as their JSON object. */
  #read(tokens: readonly string[]): unknown {
    let node = this.root;
    let raw = false;
    for (const token of tokens) {
      let parent: Container;
      if (isContainer(node)) {
        parent = node;
      } else {
        const json = raw ? undefined : this.#hooks?.unwrap(node);
        if (json === undefined) throw missing();
        parent = json;
        raw = true;
      }
      if (Array.isArray(parent)) {
        node = parent[arrayIndex(token, parent.length, false)];
      } else {
        if (!hasOwn(parent, token)) throw missing();
        node = parent[token];
      }
    }
    this.#valueRaw = raw;
    return node;
  }

  /**
   * Returns the container that holds the last token, owned: every container on the way is copied
   * once per patch, and an opaque node on the way is replaced by an owned copy of its JSON (to be
   * sealed again by `#settle`).
   */
  #parentOf(tokens: readonly string[]): Container {
    const last = tokens.length - 1;
    this.#raw = false;
    this.#sealNode = undefined;
    this.#grand = undefined;
    this.#copied = false;
    let node = this.#own(this.root, undefined, "");
    for (let depth = 0; depth < last; depth++) {
      const token = tokens[depth]!;
      let key: string | number;
      if (Array.isArray(node)) {
        key = arrayIndex(token, node.length, false);
      } else {
        if (!hasOwn(node, token)) throw missing();
        key = token;
      }
      this.#grand = node;
      this.#grandKey = key;
      node = this.#own((node as JsonObject)[key], node, key);
    }
    return node;
  }

  /** Returns `value`, found at `parent[key]`, owned: itself when it is, else an owned copy. */
  #own(value: unknown, parent: Container | undefined, key: string | number): Container {
    if (isContainer(value)) {
      if (!this.#copied && this.#owned.has(value)) return value;
      this.#copied = true;
      return this.#store(parent, key, Array.isArray(value) ? value.slice() : { ...value });
    }
    const json = this.#raw ? undefined : this.#hooks?.unwrap(value);
    if (json === undefined) {
      throw new Fault(
        "path_not_found",
        "the path goes through a value that is neither object nor array",
      );
    }
    // Never write into the opaque node's own object: it is published, maybe shared.
    this.#copied = true;
    const copy = this.#store(parent, key, { ...json });
    this.#raw = true;
    this.#sealNode = copy;
    this.#sealParent = parent;
    this.#sealKey = key;
    return copy;
  }

  /** Puts `value` at `parent[key]` (or the root), owned, and returns it. */
  #store<V extends Container>(parent: Container | undefined, key: string | number, value: V): V {
    this.#owned.add(value);
    this.#put(parent, key, value);
    return value;
  }

  #put(parent: Container | undefined, key: string | number, value: unknown): void {
    if (parent === undefined) this.root = value;
    else (parent as JsonObject)[key] = value;
  }

  /** Re-establishes the opaque nodes after a write through or into `parent`. */
  #settle(parent: Container, key: string): void {
    const hooks = this.#hooks;
    if (hooks === undefined) return;
    const unwrapped = this.#sealNode;
    if (unwrapped !== undefined) {
      this.#sealNode = undefined;
      const sealed = hooks.seal(unwrapped, true);
      if (sealed !== unwrapped) {
        this.#disown(unwrapped);
        this.#put(this.#sealParent, this.#sealKey, sealed);
      }
    } else if ((key === "_type" || key === "code") && !Array.isArray(parent)) {
      // Only these two members decide whether an object is an opaque node.
      const sealed = hooks.seal(parent, false);
      if (sealed !== parent) {
        this.#disown(parent);
        this.#put(this.#grand, this.#grandKey, sealed);
      }
    }
  }

  /**
   * Marks `value` and its owned descendants as shared again: owned containers form a subtree at
   * the top, so the walk stops at the first one not owned.
   */
  #disown(value: Container): void {
    if (!this.#owned.delete(value)) return;
    for (const child of Array.isArray(value) ? value : Object.values(value)) {
      if (isContainer(child)) this.#disown(child);
    }
  }

  #convert(value: unknown, valueRaw: boolean, targetRaw: boolean): unknown {
    const hooks = this.#hooks;
    if (hooks === undefined || valueRaw === targetRaw) return value;
    // Primitives are the same raw and live: most patches carry nothing else.
    const type = typeof value;
    if (type !== "object" && type !== "function") return value;
    return targetRaw ? hooks.dehydrate(value) : hooks.revive(value);
  }
}

function valueIn(op: { value?: unknown }): unknown {
  // An own member only: a polluted prototype must not supply a missing value.
  if (!hasOwn(op, "value") || op.value === undefined) {
    throw new Fault("invalid_operation", 'the operation has no "value"');
  }
  return op.value;
}

function fromIn(op: { from?: unknown }): string {
  const from = hasOwn(op, "from") ? op.from : undefined;
  if (typeof from !== "string") {
    throw new Fault("invalid_operation", 'the operation has no string "from"');
  }
  return from;
}

function describe(operation: unknown): string {
  if (typeof operation !== "object" || operation === null || Array.isArray(operation)) {
    return Array.isArray(operation) ? "array" : operation === null ? "null" : typeof operation;
  }
  const { op, path, from } = operation as { op?: unknown; path?: unknown; from?: unknown };
  const name = typeof op === "string" ? clip(op, 24) : "?";
  const where = typeof path === "string" ? ` ${JSON.stringify(clip(path, 160))}` : "";
  const source =
    (op === "move" || op === "copy") && typeof from === "string"
      ? ` from ${JSON.stringify(clip(from, 160))}`
      : "";
  return `${name}${where}${source}`;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
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
  if (!Array.isArray(operations)) {
    throw new LenraPatchError(
      "invalid_patch",
      -1,
      operations,
      `A JSON Patch must be an array of operations, got ${operations === null ? "null" : typeof operations}.`,
    );
  }
  const patcher = new Patcher(document, hooks);
  let index = 0;
  try {
    for (; index < operations.length; index++) patcher.apply(operations[index]);
  } catch (error) {
    if (!(error instanceof Fault)) throw error;
    const operation: unknown = operations[index];
    throw new LenraPatchError(
      error.failure,
      index,
      operation,
      `JSON Patch operation ${index} (${describe(operation)}) failed: ${error.detail}. Nothing of the patch was applied.`,
    );
  }
  return patcher.root;
}

/**
 * Applies a JSON Patch ([RFC 6902](https://www.rfc-editor.org/rfc/rfc6902)) and returns the new
 * document, leaving `document` and `operations` untouched: only the containers on the touched
 * paths are copied (once per patch), every other subtree is shared with `document`, and values
 * from the operations are inserted as they are. All or nothing: on failure it throws a
 * {@link LenraPatchError} naming the failing operation and returns nothing. Pointers with a
 * `__proto__` segment are refused and only own properties are followed, so no patch reaches a
 * prototype.
 *
 * The result has the type of `document`: the caller vouches that the patch keeps its shape.
 */
export function applyPatch<T>(document: T, operations: readonly JsonPatchOperation[]): T {
  return applyPatchWith(document, operations, undefined) as T;
}
