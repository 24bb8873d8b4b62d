import { configure } from "safe-stable-stringify";

/**
 * A JSON value as it travels in frames: what `JSON.parse` can return.
 *
 * @example
 * ```ts
 * const value: JsonValue = { items: [1, "two", null, { ok: true }] };
 * ```
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;

/**
 * A JSON object: what Phoenix accepts as a payload.
 *
 * @example
 * ```ts
 * server.push("route:/counter", "error", { message: "Injected", reason: "test" } satisfies JsonObject);
 * ```
 */
export interface JsonObject {
  [key: string]: JsonValue;
}

/** True for plain objects (not arrays, not null), the only thing Phoenix accepts as a payload. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Deep-copies a value through JSON, which is exactly what the client will receive: functions
 * and `undefined` members vanish, dates become strings. Throws `TypeError` for values JSON
 * cannot carry (a cycle, a bigint, `undefined` at the root).
 */
export function toJsonSnapshot(value: unknown): JsonValue {
  const text = JSON.stringify(value);
  if (text === undefined) {
    throw new TypeError("The value cannot be represented as JSON (undefined or a function).");
  }
  return JSON.parse(text) as JsonValue;
}

// Keys sorted at every depth, `undefined` members dropped as JSON.stringify drops them; a cycle
// throws rather than becoming text that could equal another value's.
const stableStringify = configure({ deterministic: true, circularValue: TypeError });

/**
 * JSON with object keys sorted at every depth, so that two equal values always give the same
 * text whatever the order their keys were written in (listener codes, render keys).
 */
export function canonicalJson(value: unknown): string {
  return stableStringify(value) ?? "null";
}

/** Sets `key` as an own data property of `target`, so a `"__proto__"` key stays data. */
export function defineMember(target: object, key: string | number, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(target, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    (target as Record<string | number, unknown>)[key] = value;
  }
}
