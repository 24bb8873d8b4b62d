import { defineMember, isPlainObject, type JsonObject, type JsonValue } from "../shared/json.ts";
import { type ListenerCodec, pointer } from "./listeners.ts";

/** Options of {@link encodeView}. */
export interface EncodeOptions {
  readonly codec: ListenerCodec;
  /** The view's name, for notices. */
  readonly view: string;
  /**
   * What the same view gave last time, as this function returned it: every part of the answer
   * equal to the part at the same place (array items matched by `_id` first) is returned as
   * that part, the same object. Nothing else is read from it.
   */
  readonly previous?: JsonValue | undefined;
  /** Hears of what Lenra would leave uncallable; `key` is the same for the same thing. */
  readonly notice?: ((key: string, message: string) => void) | undefined;
  /** Called for each `{ _type: "view" }` object (left in place) with where it is. */
  readonly nestedView?:
    | ((value: JsonObject, path: readonly (string | number)[]) => void)
    | undefined;
}

/**
 * Turns a view's answer into the document clients receive, in one walk: what JSON would make
 * of it (as `JSON.stringify` then `JSON.parse`: `toJSON`, dropped `undefined` members, `null`
 * for non-finite numbers; a `TypeError` for a cycle or a BigInt), with its listeners encoded as
 * Lenra's JSON builder does: a listener's `name` and `props` become a `code` and its `type` key
 * goes, its other keys stay as they are; a listener with `navTo` and no name is `{ navTo }`; a
 * nameless one and an object with any other `_type` (a nested view included) are left as they
 * are, listeners inside them too. The answer is never changed.
 *
 * Unchanged parts come back from `options.previous` by identity, so a change costs one walk
 * that compares, without copying or hashing what did not change, and the diff that follows
 * skips those parts at once.
 *
 * @see PROTOCOL.md §4
 */
export function encodeView(answer: unknown, options: EncodeOptions): JsonValue {
  const walker = new Walker(options);
  const document = walker.value(answer, options.previous, "", true);
  if (document === undefined) {
    throw new TypeError("The value cannot be represented as JSON (undefined or a function).");
  }
  return document;
}

/** Beyond this depth, the walk also watches for a cycle (which would never end). */
const CYCLE_CHECK_DEPTH = 256;

/** The JSON members of one object being walked, kept per depth and reused: no allocation. */
interface Scratch {
  keys: string[];
  values: JsonValue[];
  count: number;
}

class Walker {
  readonly #options: EncodeOptions;
  readonly #codec: ListenerCodec;
  /** Where the walk is, for notices and nested views. */
  readonly #path: (string | number)[] = [];
  readonly #scratch: Scratch[] = [];
  #depth = 0;
  /** The deep objects being walked, to refuse a cycle as JSON.stringify does. */
  readonly #ancestors = new Set<object>();
  readonly #polluted = hasEnumerableKey(Object.prototype);

  constructor(options: EncodeOptions) {
    this.#options = options;
    this.#codec = options.codec;
  }

  /** `raw` as JSON (listeners encoded when `encode`), or `undefined` where JSON drops it. */
  value(
    raw: unknown,
    previous: unknown,
    key: string | number,
    encode: boolean,
  ): JsonValue | undefined {
    switch (typeof raw) {
      case "string":
      case "boolean":
        return raw;
      case "number":
        return Number.isFinite(raw) ? raw : null;
      case "object":
        break;
      case "bigint":
        throw new TypeError(`A BigInt cannot be represented as JSON (at ${pointer(this.#path)}).`);
      default:
        return undefined;
    }
    if (raw === null) return null;
    const proto = Object.getPrototypeOf(raw);
    // Plain objects and arrays, almost everything, go straight on; the rest as JSON sees them.
    const plain =
      (proto === Object.prototype || proto === Array.prototype || proto === null) &&
      !Object.hasOwn(raw, "toJSON");
    if (!plain) {
      const value = raw as { toJSON?: unknown; valueOf(): unknown };
      if (typeof value.toJSON === "function") {
        const json = (value.toJSON as (key: string) => unknown)(String(key));
        return this.value(json, previous, key, encode);
      }
      if (value instanceof Number || value instanceof String || value instanceof Boolean) {
        return this.value(value.valueOf(), previous, key, encode);
      }
    }
    const deep = ++this.#depth > CYCLE_CHECK_DEPTH;
    if (deep) {
      if (this.#ancestors.has(raw)) {
        throw new TypeError(`The view's answer contains a cycle (at ${pointer(this.#path)}).`);
      }
      this.#ancestors.add(raw);
    }
    let result: JsonValue;
    if (Array.isArray(raw)) {
      result = this.#array(raw, previous, encode);
    } else {
      const object = raw as Record<string, unknown>;
      const type =
        encode && Object.hasOwn(object, "_type") ? this.#json(object, "_type") : undefined;
      result =
        type !== undefined
          ? this.#typed(object, previous, type)
          : this.#object(object, previous, encode);
    }
    if (deep) this.#ancestors.delete(raw);
    this.#depth--;
    return result;
  }

  #array(raw: readonly unknown[], previous: unknown, encode: boolean): JsonValue[] {
    const before = Array.isArray(previous) ? (previous as JsonValue[]) : undefined;
    let byId: Map<unknown, JsonValue> | undefined;
    // Built only once an item differs from the previous array's.
    let out: JsonValue[] | undefined =
      before !== undefined && before.length === raw.length ? undefined : new Array(raw.length);
    for (let i = 0; i < raw.length; i++) {
      const item = raw[i];
      const here: unknown = before?.[i];
      let value: JsonValue | undefined;
      // Most items are what they were, where they were.
      if (here !== undefined && this.#unchanged(item, here, encode)) value = here as JsonValue;
      let match = here;
      if (
        value === undefined &&
        before !== undefined &&
        typeof item === "object" &&
        item !== null
      ) {
        const id = (item as { _id?: unknown })._id;
        if (
          (typeof id === "string" || Number.isFinite(id)) &&
          (typeof here !== "object" || here === null || (here as { _id?: unknown })._id !== id)
        ) {
          // Items moved (an insert, a removal): compare with the item that had this id.
          byId ??= indexById(before);
          match = byId.get(id);
          if (match !== undefined && this.#unchanged(item, match, encode))
            value = match as JsonValue;
        }
      }
      if (value === undefined) {
        this.#path.push(i);
        value = this.value(item, match, i, encode) ?? null;
        this.#path.pop();
      }
      if (out === undefined) {
        if (value === before?.[i]) continue;
        out = (before as JsonValue[]).slice(0, i);
        out.length = raw.length;
      }
      out[i] = value;
    }
    return out ?? (before as JsonValue[]);
  }

  /**
   * True when `raw` would be walked into `previous` itself: a plain comparison, without the
   * walk's bookkeeping, that answers false whenever it cannot tell (the walk then decides). The
   * items of a big list that did not change cost this and nothing else.
   */
  #unchanged(raw: unknown, previous: unknown, encode: boolean): boolean {
    if (raw === previous) return typeof raw !== "object" || raw === null;
    switch (typeof raw) {
      case "number":
        return !Number.isFinite(raw) && previous === null;
      case "object":
        break;
      default:
        return false;
    }
    if (raw === null || typeof previous !== "object" || previous === null) return false;
    const proto = Object.getPrototypeOf(raw);
    if (Array.isArray(raw)) {
      if (proto !== Array.prototype || !Array.isArray(previous)) return false;
      if (raw.length !== previous.length || Object.hasOwn(raw, "toJSON")) return false;
      for (let i = 0; i < raw.length; i++) {
        const item = raw[i];
        const before = previous[i];
        // JSON writes null for what it drops from an array.
        if (isDropped(item) ? before !== null : !this.#unchanged(item, before, encode))
          return false;
      }
      return true;
    }
    if ((proto !== Object.prototype && proto !== null) || Array.isArray(previous)) return false;
    const object = raw as Record<string, unknown>;
    const before = previous as JsonObject;
    // A listener object is compared by what its code stands for, and has one key more: `code`.
    let listener = false;
    if (encode && Object.hasOwn(object, "_type") && !isDropped(object._type)) {
      const type = object._type;
      // Nested views are left to the walk, which reports them; so are odd types and names.
      if (typeof type !== "string") return false;
      if (type !== "listener") return type !== "view" && this.#unchanged(object, previous, false);
      const target = this.#codec.targetOf(previous);
      if (!target || typeof object.name !== "string" || object.name !== target.name) return false;
      if (object.props === undefined) {
        if (target.props !== undefined) return false;
      } else if (
        target.props === undefined ||
        !this.#unchanged(object.props, target.props, false)
      ) {
        return false;
      }
      listener = true;
    }
    let count = 0;
    for (const key in object) {
      // A plain object's for-in lists its own keys, unless Object.prototype was given some.
      if (this.#polluted && !Object.hasOwn(object, key)) continue;
      // An own toJSON makes JSON.stringify write something else: the walk decides.
      if (key === "toJSON") return false;
      if (listener && (key === "name" || key === "props" || key === "type")) continue;
      const member = object[key];
      const earlier = before[key];
      // The common case first: the same string, number or boolean (only an own member of a
      // JSON object can be one).
      const kind = typeof member;
      if (member === earlier && (kind === "string" || kind === "number" || kind === "boolean")) {
        count++;
        continue;
      }
      if (isDropped(member)) continue;
      if (!Object.hasOwn(before, key) || !this.#unchanged(member, earlier, encode)) return false;
      count++;
    }
    return count + (listener ? 1 : 0) === countKeys(before);
  }

  /** A JSON object of `raw`'s own enumerable keys; `previous` itself when equal. */
  #object(raw: Record<string, unknown>, previous: unknown, encode: boolean): JsonObject {
    const members = this.#members(raw, previous, encode, false);
    const before = previous as JsonObject;
    return members.same && members.kept === countKeys(before) ? before : build(members.scratch);
  }

  /**
   * Walks the members of `raw` (but `name`, `props` and `type` for a listener) into this
   * depth's scratch; `same` when each is the member of the same name of `previous`.
   */
  #members(
    raw: Record<string, unknown>,
    previous: unknown,
    encode: boolean,
    listener: boolean,
  ): { same: boolean; kept: number; scratch: Scratch } {
    const before = isPlainObject(previous) ? (previous as JsonObject) : undefined;
    const depth = this.#depth;
    let scratch = this.#scratch[depth];
    if (!scratch) {
      scratch = { keys: [], values: [], count: 0 };
      this.#scratch[depth] = scratch;
    }
    let same = before !== undefined;
    let kept = 0;
    for (const key in raw) {
      if (!Object.hasOwn(raw, key)) continue;
      if (listener && (key === "name" || key === "props" || key === "type")) continue;
      const earlier = before !== undefined && Object.hasOwn(before, key) ? before[key] : undefined;
      const member = raw[key];
      let value: JsonValue | undefined;
      if (typeof member === "string" || typeof member === "boolean") {
        value = member;
      } else {
        this.#path.push(key);
        value = this.value(member, earlier, key, encode);
        this.#path.pop();
        if (value === undefined) continue;
      }
      scratch.keys[kept] = key;
      scratch.values[kept] = value;
      kept++;
      if (same && value !== earlier) same = false;
    }
    scratch.count = kept;
    return { same, kept, scratch };
  }

  /**
   * What JSON makes of the member `key` of `raw`, to decide what `raw` is (its `_type`, its
   * `name`): `undefined` when JSON drops it.
   */
  #json(raw: Record<string, unknown>, key: string): JsonValue | undefined {
    const member = raw[key];
    return typeof member === "string" ? member : this.value(member, undefined, key, false);
  }

  /** An object with a `_type`: a listener, a nested view, or a component left as it is. */
  #typed(raw: Record<string, unknown>, previous: unknown, type: JsonValue): JsonValue {
    if (type === "listener") return this.#listener(raw, previous);
    const value = this.#object(raw, previous, false);
    if (type === "view") {
      this.#options.nestedView?.(value, [...this.#path]);
    } else if (value !== previous && this.#options.notice && holdsListener(value)) {
      const { view } = this.#options;
      this.#options.notice(
        `type:${view}:${String(type)}`,
        `The view "${view}" returned an object with _type "${String(type)}" that holds listeners: in JSON views Lenra leaves such objects as they are, so those listeners keep their name and props and cannot be called.`,
      );
    }
    return value;
  }

  #listener(raw: Record<string, unknown>, previous: unknown): JsonValue {
    const name = this.#json(raw, "name");
    if (typeof name !== "string") {
      const before = isPlainObject(previous) ? previous : undefined;
      this.#path.push("navTo");
      const navTo = Object.hasOwn(raw, "navTo")
        ? this.value(raw.navTo, before?.navTo, "navTo", false)
        : undefined;
      this.#path.pop();
      if (navTo !== undefined) {
        return before && navTo === before.navTo && countKeys(before as JsonObject) === 1
          ? (before as JsonObject)
          : { navTo };
      }
      const { view } = this.#options;
      this.#options.notice?.(
        `nameless:${view}`,
        `The view "${view}" has a listener without a name at ${pointer(this.#path)}: Lenra leaves it as it is, so it cannot be called. Give it a name.`,
      );
      return this.#object(raw, previous, false);
    }
    const earlier = this.#codec.targetOf(previous);
    this.#path.push("props");
    const normalized =
      raw.props === undefined ? undefined : this.value(raw.props, earlier?.props, "props", false);
    this.#path.pop();
    const props = isPlainObject(normalized) ? (normalized as JsonObject) : undefined;
    const sameTarget = earlier !== undefined && earlier.name === name && earlier.props === props;
    // Its other keys; the previous listener object has one key more, its code.
    const others = this.#members(raw, previous, false, true);
    if (sameTarget && others.same && others.kept + 1 === countKeys(previous as JsonObject)) {
      return previous as JsonObject;
    }
    return this.#codec.encode(sameTarget ? earlier : { name, props }, build(others.scratch));
  }
}

/** A new object of the members walked last into `scratch`. */
function build(scratch: Scratch): JsonObject {
  const object: JsonObject = {};
  for (let i = 0; i < scratch.count; i++) {
    defineMember(object, scratch.keys[i] as string, scratch.values[i]);
  }
  return object;
}

function hasEnumerableKey(object: object): boolean {
  for (const _ in object) return true;
  return false;
}

/** What JSON leaves out of an object (and writes as null in an array). */
function isDropped(value: unknown): boolean {
  return value === undefined || typeof value === "function" || typeof value === "symbol";
}

/** The number of keys of a JSON object, without making the list of them. */
function countKeys(object: JsonObject): number {
  let count = 0;
  for (const _ in object) count++;
  return count;
}

/** An item's `_id`, when it is an object with a string or number `_id`. */
function idOf(item: unknown): unknown {
  if (typeof item !== "object" || item === null) return undefined;
  const id = (item as { _id?: unknown })._id;
  return typeof id === "string" || typeof id === "number" ? id : undefined;
}

function indexById(items: readonly JsonValue[]): Map<unknown, JsonValue> {
  const index = new Map<unknown, JsonValue>();
  for (const item of items) {
    const id = idOf(item);
    if (id !== undefined && !index.has(id)) index.set(id, item);
  }
  return index;
}

function holdsListener(value: JsonValue): boolean {
  if (Array.isArray(value)) return value.some(holdsListener);
  if (!isPlainObject(value)) return false;
  if (value._type === "listener") return true;
  return Object.values(value).some(holdsListener);
}
