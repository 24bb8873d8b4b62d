import type { JsonValue } from "../shared/json.ts";

/**
 * One message of Phoenix's serializer v2: the text frame `[join_ref, ref, topic, event,
 * payload]`. The official client always sends strings (or null) for both refs.
 */
export interface PhoenixMessage {
  joinRef: string | null;
  ref: string | null;
  topic: string;
  event: string;
  payload: unknown;
}

/** What became of an incoming text frame. */
export type DecodedFrame =
  | { kind: "message"; message: PhoenixMessage }
  /** A five-element array with fields of the wrong types: answerable when `ref` is a string. */
  | {
      kind: "invalid";
      problem: string;
      joinRef: string | null;
      ref: string | null;
      topic: string | null;
    }
  /** Not JSON, not an array, or fewer than five elements: Phoenix's decoder crashes on it. */
  | { kind: "fatal"; problem: string };

/**
 * Decodes a v2 text frame. Extra trailing elements are ignored, as Phoenix's decoder does;
 * anything it would crash on is `fatal`, and well-formed arrays with mistyped fields are
 * `invalid` so the caller can still answer the ref.
 */
export function decodeFrame(text: string): DecodedFrame {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { kind: "fatal", problem: "the frame is not JSON" };
  }
  if (!Array.isArray(data)) return { kind: "fatal", problem: "the frame is not a JSON array" };
  if (data.length < 5) {
    return { kind: "fatal", problem: `the frame has ${data.length} elements instead of 5` };
  }
  const [joinRef, ref, topic, event, payload] = data as unknown[];
  const problems: string[] = [];
  if (!isRef(joinRef)) problems.push("join_ref is neither a string nor null");
  if (!isRef(ref)) problems.push("ref is neither a string nor null");
  if (typeof topic !== "string") problems.push("topic is not a string");
  if (typeof event !== "string") problems.push("event is not a string");
  if (problems.length > 0) {
    return {
      kind: "invalid",
      problem: problems.join(", "),
      joinRef: typeof joinRef === "string" ? joinRef : null,
      ref: typeof ref === "string" ? ref : null,
      topic: typeof topic === "string" ? topic : null,
    };
  }
  return {
    kind: "message",
    message: {
      joinRef: joinRef as string | null,
      ref: ref as string | null,
      topic: topic as string,
      event: event as string,
      payload,
    },
  };
}

function isRef(value: unknown): value is string | null {
  return value === null || typeof value === "string";
}

/** Encodes a server message (a push, `phx_close`, `phx_error`). */
export function encodeMessage(
  joinRef: string | null,
  ref: string | null,
  topic: string | null,
  event: string,
  payload: JsonValue,
): string {
  return JSON.stringify([joinRef, ref, topic, event, payload]);
}

/**
 * How many distinct messages an {@link EncodedPayload} keeps. Sessions of one route mostly share
 * a join ref; a fan-out to sessions with more distinct ones builds the rest per push, so what a
 * payload holds stays within this many copies of it however many sessions it goes to.
 */
const SHARED_MESSAGES = 8;

/**
 * A push payload serialized once for many channels. The message for each channel differs only
 * in its join ref and topic, so the bytes of each distinct message are built once and shared:
 * a patch fanned out to 500 sessions of one route costs one encoding, not 500.
 */
export class EncodedPayload {
  /** The payload, a JSON object's text. */
  readonly text: string;
  readonly #messages = new Map<string, Buffer>();

  constructor(text: string) {
    this.text = text;
  }

  /** The UTF-8 bytes of the server message `[joinRef, null, topic, event, payload]`. */
  message(joinRef: string | null, topic: string, event: string): Buffer {
    // The head is the message itself up to the payload, so it names it unambiguously.
    const head = `[${JSON.stringify(joinRef)},null,${JSON.stringify(topic)},${JSON.stringify(event)},`;
    let bytes = this.#messages.get(head);
    if (bytes === undefined) {
      bytes = Buffer.from(`${head}${this.text}]`);
      if (this.#messages.size < SHARED_MESSAGES) this.#messages.set(head, bytes);
    }
    return bytes;
  }
}

/** Status of a `phx_reply`. */
export type ReplyStatus = "ok" | "error";

/** Encodes a `phx_reply` matched by `ref`. */
export function encodeReply(
  joinRef: string | null,
  ref: string | null,
  topic: string | null,
  status: ReplyStatus,
  response: JsonValue,
): string {
  return encodeMessage(joinRef, ref, topic, "phx_reply", { status, response });
}
