import { randomBytes } from "node:crypto";
import { DataError, DataErrorReason } from "./errors.ts";

/** A stored document: a JSON object whose `_id` is a string. */
export interface DataDocument {
  _id: string;
  [key: string]: unknown;
}

/** Keys that reach an object's prototype when assigned or merged. */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/** Deeper JSON is refused before any recursive walk could overflow the stack. */
export const MAX_DEPTH = 64;

const MAX_ID_LENGTH = 256;
const COLLECTION_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,119}$/;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Refuses keys that could pollute a prototype, at any depth and in every dotted segment (an
 * update path such as `"a.__proto__.b"` is as dangerous as a nested key), and refuses values JSON
 * cannot carry. `what` names the value in the error message.
 */
export function assertSafeJson(value: unknown, what: string): void {
  walk(value, what, 0);
}

function walk(value: unknown, what: string, depth: number): void {
  if (depth > MAX_DEPTH) {
    throw new DataError(
      400,
      DataErrorReason.InvalidDocument,
      `The ${what} is nested more than ${MAX_DEPTH} levels deep.`,
    );
  }
  if (value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (Number.isFinite(value)) return;
    throw new DataError(
      400,
      DataErrorReason.InvalidDocument,
      `The ${what} holds a non-finite number.`,
    );
  }
  if (Array.isArray(value)) {
    for (const item of value) walk(item, what, depth + 1);
    return;
  }
  if (isPlainObject(value)) {
    for (const key of Object.keys(value)) {
      assertSafeKey(key, what);
      walk(value[key], what, depth + 1);
    }
    return;
  }
  throw new DataError(
    400,
    DataErrorReason.InvalidDocument,
    `The ${what} holds a value JSON cannot carry (${typeof value}).`,
  );
}

function assertSafeKey(key: string, what: string): void {
  if (
    FORBIDDEN_KEYS.has(key) ||
    (key.includes(".") && key.split(".").some((part) => FORBIDDEN_KEYS.has(part)))
  ) {
    throw new DataError(
      400,
      DataErrorReason.ForbiddenKey,
      `The ${what} uses the forbidden key "${key}": __proto__, constructor and prototype are refused as keys and path segments.`,
    );
  }
}

/** Throws unless `name` can name a collection (letters, digits, `_`, `.`, `-`, at most 120). */
export function assertCollectionName(name: string): void {
  if (!COLLECTION_NAME.test(name) || FORBIDDEN_KEYS.has(name) || name.startsWith("system.")) {
    throw new DataError(
      400,
      DataErrorReason.InvalidCollectionName,
      `Invalid collection name "${name.slice(0, 130)}": use 1 to 120 letters, digits, "_", "." or "-", not starting with "." or "system.".`,
    );
  }
}

/** Throws unless `id` can be a document id (a non-empty string of at most 256 characters). */
export function assertDocumentId(id: unknown): asserts id is string {
  if (typeof id !== "string" || id.length === 0 || id.length > MAX_ID_LENGTH) {
    throw new DataError(
      400,
      DataErrorReason.InvalidId,
      `A document _id must be a non-empty string of at most ${MAX_ID_LENGTH} characters.`,
    );
  }
}

/** Throws unless `value` is a plain JSON object; `what` names it in the message. */
export function assertObject(
  value: unknown,
  what: string,
): asserts value is Record<string, unknown> {
  if (!isPlainObject(value)) {
    throw new DataError(400, DataErrorReason.InvalidRequest, `The ${what} must be a JSON object.`);
  }
}

/**
 * Deep-freezes a value the store keeps, so that a snapshot held by a transaction or a reader can
 * never change under it. Returns the value.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}

/**
 * A private, mutable deep copy of JSON data, so callers never hold references into the store.
 * Going through JSON also turns what update operators may produce (a `$currentDate` Date) into
 * what the file and the wire will hold anyway.
 */
export function cloneJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/**
 * Returns a generator of 24-hex-digit ids shaped like MongoDB ObjectIds: 4 bytes of seconds since
 * the epoch, a 3-byte counter, then 5 bytes from the CSPRNG. Sorting by `_id` therefore sorts by
 * creation time, as apps written against Lenra's MongoDB expect, while ids stay unguessable.
 */
export function createIdGenerator(now: () => number = Date.now): () => string {
  let counter = 0;
  return () => {
    counter = (counter + 1) % 0x1000000;
    const seconds = Math.floor(now() / 1000) >>> 0;
    return (
      seconds.toString(16).padStart(8, "0") +
      counter.toString(16).padStart(6, "0") +
      randomBytes(5).toString("hex")
    );
  };
}
