import { type RawData, WebSocket } from "ws";
import { isPlainObject, type JsonObject } from "../shared/json.ts";
import { describeError, type Log } from "../shared/log.ts";
import type {
  ChannelContext,
  ChannelHandler,
  ChannelReply,
  ChannelRouter,
  TerminateReason,
} from "./channel.ts";
import type { EventLog } from "./event-log.ts";
import {
  decodeFrame,
  type EncodedPayload,
  encodeMessage,
  encodeReply,
  type PhoenixMessage,
} from "./frames.ts";

/** Close codes, the ones Cowboy and Bandit send in the same situations. */
export const CloseCode = {
  /** Idle timeout, or a server-initiated disconnect. */
  Normal: 1000,
  /** The server is shutting down. */
  GoingAway: 1001,
  /** Binary frames, which the Lenra channels cannot use. */
  UnsupportedData: 1003,
  /** A frame Phoenix's decoder would crash on (the socket process dies: 1011). */
  InternalError: 1011,
} as const;

export interface ConnectionOptions<A> {
  id: string;
  ws: WebSocket;
  assigns: A;
  router: ChannelRouter<A>;
  /** Close the socket after this long without any frame from the client. */
  idleTimeoutMs: number;
  log: Log;
  events: EventLog;
  /** Called once, after every channel was terminated. */
  onClose(connection: PhoenixConnection<A>, code: number, reason: string): void;
}

interface ChannelRecord {
  readonly topic: string;
  readonly joinRef: string | null;
  handler: ChannelHandler | undefined;
  state: "joining" | "joined" | "closed";
}

const UNMATCHED_TOPIC = { reason: "unmatched topic" };
/** `ws` sends a `Buffer` as a binary frame unless told otherwise. */
const TEXT_FRAME = { binary: false } as const;
const JOIN_CRASHED = { reason: "join crashed" };
const MALFORMED = { reason: "malformed message" };

/**
 * One websocket speaking Phoenix's channel protocol (serializer v2), modelled on
 * `Phoenix.Socket`: heartbeats, joins (a duplicate join closes the existing channel first),
 * leaves, `unmatched topic` errors, and `phx_error` when a channel crashes.
 *
 * Frames are handled one at a time, in order, as Phoenix's socket process does: a join holds
 * back the frames behind it until it is answered. Event handlers may answer later (a `run`),
 * without holding anything back.
 */
export class PhoenixConnection<A> {
  readonly id: string;
  readonly assigns: A;
  readonly #ws: WebSocket;
  readonly #router: ChannelRouter<A>;
  readonly #idleTimeoutMs: number;
  readonly #log: Log;
  readonly #events: EventLog;
  readonly #onClose: ConnectionOptions<A>["onClose"];
  readonly #channels = new Map<string, ChannelRecord>();
  #queue: Promise<void> = Promise.resolve();
  /** Event handlers that answer later (listener runs), until they have answered. */
  readonly #answering = new Set<Promise<void>>();
  #idleTimer: NodeJS.Timeout | undefined;
  // Set as soon as the server decides to close, so queued frames are dropped.
  #stopping = false;
  #closed = false;
  #resolveClosed!: () => void;
  /** Settles once the websocket has closed and every channel was terminated. */
  readonly whenClosed = new Promise<void>((resolve) => {
    this.#resolveClosed = resolve;
  });

  constructor(options: ConnectionOptions<A>) {
    this.id = options.id;
    this.assigns = options.assigns;
    this.#ws = options.ws;
    this.#router = options.router;
    this.#idleTimeoutMs = options.idleTimeoutMs;
    this.#log = options.log;
    this.#events = options.events;
    this.#onClose = options.onClose;

    const ws = this.#ws;
    ws.on("message", (data, isBinary) => this.#onFrame(data, isBinary));
    ws.on("ping", () => this.#touch());
    ws.on("pong", () => this.#touch());
    ws.on("error", (error) => {
      // ws closes the socket itself after these (1009 too big, 1007 bad UTF-8...).
      this.#stopping = true;
      this.#events.record({
        type: "malformed",
        socketId: this.id,
        problem: error.message,
        action: "closed",
      });
      this.#log.warn("websocket error, closing the socket", {
        socketId: this.id,
        error: error.message,
      });
    });
    ws.on("close", (code, reason) => this.#handleClose(code, reason.toString()));
    this.#touch();
  }

  /** True once the websocket has closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Topics currently joined on this socket. */
  get topics(): string[] {
    return [...this.#channels.keys()];
  }

  /** Resolves once every event handler running now has answered (or failed). */
  async answered(): Promise<void> {
    await Promise.all([...this.#answering]);
  }

  /** Closes the websocket with a close frame (the client sees `code`). */
  close(code: number = CloseCode.Normal, reason = ""): void {
    this.#stopping = true;
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) {
      this.#ws.close(code, reason);
    }
  }

  /** Drops the TCP connection without a close frame (the client sees 1006). */
  terminate(): void {
    this.#stopping = true;
    this.#ws.terminate();
  }

  /** Pushes an event on `topic` if it is joined here; returns whether it was sent. */
  push(topic: string, event: string, payload: JsonObject): boolean {
    const record = this.#channels.get(topic);
    return record ? this.#pushOn(record, event, payload) : false;
  }

  /** Crashes the channel joined on `topic`, if any; returns whether there was one. */
  crash(topic: string, error: unknown): boolean {
    const record = this.#channels.get(topic);
    if (!record) return false;
    this.#crash(record, error);
    return true;
  }

  #touch(): void {
    clearTimeout(this.#idleTimer);
    if (this.#closed) return;
    this.#idleTimer = setTimeout(() => {
      this.#log.debug("closing an idle socket", { socketId: this.id });
      this.close(CloseCode.Normal, "idle timeout");
    }, this.#idleTimeoutMs);
    this.#idleTimer.unref();
  }

  #onFrame(data: RawData, isBinary: boolean): void {
    this.#touch();
    if (this.#stopping) return;
    if (isBinary) {
      this.#events.record({
        type: "malformed",
        socketId: this.id,
        problem: "binary frame",
        action: "closed",
      });
      this.close(CloseCode.UnsupportedData, "binary frames are not supported");
      return;
    }
    const text = rawToString(data);
    this.#queue = this.#queue
      .then(() => this.#handleText(text))
      .catch((error: unknown) => {
        // A bug of ours: end this socket as Phoenix's socket process would, keep the server.
        this.#log.error("socket failed while handling a frame", {
          socketId: this.id,
          error: describeError(error),
        });
        this.close(CloseCode.InternalError, "internal error");
      });
  }

  async #handleText(text: string): Promise<void> {
    if (this.#stopping) return;
    const decoded = decodeFrame(text);
    if (decoded.kind === "fatal") {
      this.#events.record({
        type: "malformed",
        socketId: this.id,
        problem: decoded.problem,
        action: "closed",
      });
      this.#log.warn("malformed frame, closing the socket", {
        socketId: this.id,
        problem: decoded.problem,
      });
      this.close(CloseCode.InternalError, "malformed message");
      return;
    }
    if (decoded.kind === "invalid") {
      const answerable = decoded.ref !== null;
      this.#events.record({
        type: "malformed",
        socketId: this.id,
        problem: decoded.problem,
        action: answerable ? "replied" : "ignored",
      });
      this.#log.warn("malformed frame", { socketId: this.id, problem: decoded.problem });
      if (answerable) {
        this.#send(encodeReply(decoded.joinRef, decoded.ref, decoded.topic, "error", MALFORMED));
      }
      return;
    }
    await this.#dispatch(decoded.message);
  }

  async #dispatch(message: PhoenixMessage): Promise<void> {
    const { topic, event } = message;
    if (topic === "phoenix" && event === "heartbeat") {
      this.#events.record({ type: "heartbeat", socketId: this.id });
      this.#send(encodeReply(null, message.ref, "phoenix", "ok", {}));
      return;
    }
    const current = this.#channels.get(topic);
    if (event === "phx_join") return this.#join(message, current);
    if (event === "phx_leave") return this.#leave(message, current);
    if (!current) {
      // Also what Phoenix answers when the channel was dropped while the client spoke.
      this.#unmatched(message);
      return;
    }
    this.#handleIn(current, message);
  }

  async #join(message: PhoenixMessage, existing: ChannelRecord | undefined): Promise<void> {
    const { topic, joinRef, ref } = message;
    if (existing) {
      // Phoenix closes the existing channel, joins anew, and only then sends the old
      // channel's phx_close, so the new join's reply comes first.
      this.#log.debug("duplicate join, closing the existing channel", { socketId: this.id, topic });
      this.#end(existing, "duplicate_join");
    }
    const sendOldClose = () => {
      if (existing)
        this.#send(encodeMessage(existing.joinRef, existing.joinRef, topic, "phx_close", {}));
    };
    const factory = this.#router(topic);
    if (!factory) {
      this.#unmatched(message);
      sendOldClose();
      return;
    }
    const record: ChannelRecord = { topic, joinRef, handler: undefined, state: "joining" };
    let reply: ChannelReply;
    try {
      record.handler = factory(this.#context(record));
      reply = await record.handler.join(message.payload);
      if (!isPlainObject(reply?.response)) throw new TypeError("join reply is not a map");
    } catch (error) {
      this.#log.error("join crashed", { socketId: this.id, topic, error: describeError(error) });
      reply = { status: "error", response: JOIN_CRASHED };
    }
    if (record.state === "closed" && reply.status === "ok") {
      // The handler crashed itself while joining.
      reply = { status: "error", response: JOIN_CRASHED };
    }
    if (this.#closed) {
      record.state = "closed";
      safeTerminate(record.handler, "socket_closed", this.#log);
      return;
    }
    this.#send(encodeReply(joinRef, ref, topic, reply.status, reply.response));
    this.#events.record({
      type: "join",
      socketId: this.id,
      topic,
      joinRef,
      status: reply.status,
      response: reply.response,
    });
    sendOldClose();
    if (reply.status !== "ok") {
      record.state = "closed";
      safeTerminate(record.handler, "join_refused", this.#log);
      return;
    }
    record.state = "joined";
    this.#channels.set(topic, record);
    try {
      record.handler?.joined?.();
    } catch (error) {
      this.#crash(record, error);
    }
  }

  #leave(message: PhoenixMessage, existing: ChannelRecord | undefined): void {
    const { topic, joinRef, ref } = message;
    if (!existing) {
      // Phoenix acknowledges leaving a topic that is not joined.
      this.#send(encodeReply(joinRef, ref, topic, "ok", {}));
      return;
    }
    if (joinRef !== null && joinRef !== existing.joinRef) {
      // A leave for an older join raced a server close: Phoenix ignores it.
      return;
    }
    this.#end(existing, "left");
    this.#send(encodeReply(existing.joinRef, ref, topic, "ok", {}));
    this.#send(encodeMessage(existing.joinRef, existing.joinRef, topic, "phx_close", {}));
  }

  #handleIn(record: ChannelRecord, message: PhoenixMessage): void {
    let result: ReturnType<ChannelHandler["handleIn"]>;
    try {
      result = record.handler!.handleIn(message.event, message.payload);
    } catch (error) {
      this.#crash(record, error);
      return;
    }
    if (result instanceof Promise) {
      const answering = result
        .then(
          (reply) => this.#reply(record, message.ref, reply),
          (error: unknown) => this.#crash(record, error),
        )
        .finally(() => this.#answering.delete(answering));
      this.#answering.add(answering);
    } else {
      this.#reply(record, message.ref, result);
    }
  }

  #reply(record: ChannelRecord, ref: string | null, reply: ChannelReply | undefined): void {
    // A reply for a channel that ended meanwhile is dropped, as it would die with the process.
    if (!reply || !this.#isCurrent(record)) return;
    if (!isPlainObject(reply.response)) {
      this.#crash(record, new TypeError("reply is not a map"));
      return;
    }
    this.#send(encodeReply(record.joinRef, ref, record.topic, reply.status, reply.response));
  }

  #unmatched(message: PhoenixMessage): void {
    this.#events.record({
      type: "unmatched",
      socketId: this.id,
      topic: message.topic,
      event: message.event,
    });
    this.#send(encodeReply(null, message.ref, message.topic, "error", UNMATCHED_TOPIC));
  }

  #context(record: ChannelRecord): ChannelContext<A> {
    return {
      topic: record.topic,
      joinRef: record.joinRef,
      socketId: this.id,
      assigns: this.assigns,
      log: this.#log,
      events: this.#events,
      push: (event, payload) => this.#pushOn(record, event, payload),
      pushEncoded: (event, payload) => this.#pushEncodedOn(record, event, payload),
      crash: (error) => this.#crash(record, error),
    };
  }

  #pushOn(record: ChannelRecord, event: string, payload: JsonObject): boolean {
    if (!this.#isCurrent(record)) return false;
    this.#events.record({ type: "push", socketId: this.id, topic: record.topic, event });
    return this.#send(encodeMessage(record.joinRef, null, record.topic, event, payload));
  }

  #pushEncodedOn(record: ChannelRecord, event: string, payload: EncodedPayload): boolean {
    if (!this.#isCurrent(record)) return false;
    this.#events.record({ type: "push", socketId: this.id, topic: record.topic, event });
    return this.#send(payload.message(record.joinRef, record.topic, event));
  }

  #isCurrent(record: ChannelRecord): boolean {
    return (
      record.state === "joined" && this.#channels.get(record.topic) === record && !this.#closed
    );
  }

  #crash(record: ChannelRecord, error: unknown): void {
    if (record.state === "closed") return;
    this.#log.error("channel crashed", {
      socketId: this.id,
      topic: record.topic,
      error: describeError(error),
    });
    const wasJoined = this.#isCurrent(record);
    this.#end(record, "crashed");
    if (wasJoined) {
      this.#send(encodeMessage(record.joinRef, record.joinRef, record.topic, "phx_error", {}));
    }
  }

  /** Forgets a channel and terminates its handler, sending nothing. */
  #end(record: ChannelRecord, reason: "left" | "duplicate_join" | "crashed"): void {
    const wasJoined = record.state === "joined";
    record.state = "closed";
    if (this.#channels.get(record.topic) === record) this.#channels.delete(record.topic);
    if (wasJoined) {
      this.#events.record({
        type: "leave",
        socketId: this.id,
        topic: record.topic,
        joinRef: record.joinRef,
        reason,
      });
    }
    safeTerminate(record.handler, reason, this.#log);
  }

  /** Sends a message as a text frame: `message` is its text, or that text's UTF-8 bytes. */
  #send(message: string | Buffer): boolean {
    if (this.#ws.readyState !== WebSocket.OPEN) return false;
    this.#ws.send(message, TEXT_FRAME);
    return true;
  }

  #handleClose(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopping = true;
    clearTimeout(this.#idleTimer);
    const records = [...this.#channels.values()];
    this.#channels.clear();
    for (const record of records) {
      record.state = "closed";
      safeTerminate(record.handler, "socket_closed", this.#log);
    }
    this.#events.record({ type: "disconnect", socketId: this.id, code, reason });
    this.#onClose(this, code, reason);
    this.#resolveClosed();
  }
}

function safeTerminate(handler: ChannelHandler | undefined, reason: TerminateReason, log: Log) {
  try {
    handler?.terminate(reason);
  } catch (error) {
    log.error("channel terminate failed", { error: describeError(error) });
  }
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data).toString("utf8");
}
