import type { JsonObject } from "../shared/json.ts";
import type { Log } from "../shared/log.ts";
import type { EventLog } from "./event-log.ts";
import type { EncodedPayload, ReplyStatus } from "./frames.ts";

/** A channel's answer to a join or an incoming event. Phoenix requires a map as response. */
export interface ChannelReply {
  status: ReplyStatus;
  response: JsonObject;
}

/** Why a channel ends. */
export type TerminateReason =
  | "left"
  | "duplicate_join"
  | "crashed"
  | "join_refused"
  | "socket_closed";

/** What a channel handler may do with its channel, given `assigns` from the socket. */
export interface ChannelContext<A> {
  readonly topic: string;
  readonly joinRef: string | null;
  readonly socketId: string;
  /** Per-socket data, like a Phoenix socket's assigns (the Lenra layer puts the session here). */
  readonly assigns: A;
  readonly log: Log;
  readonly events: EventLog;
  /** Sends an event to the client; ignored (returns false) unless the channel is joined. */
  push(event: string, payload: JsonObject): boolean;
  /** Like {@link push}, with a payload serialized once for every channel it goes to. */
  pushEncoded(event: string, payload: EncodedPayload): boolean;
  /** Ends the channel with `phx_error`, as when a Phoenix channel process crashes. */
  crash(error: unknown): void;
}

/**
 * The server side of one joined topic, the counterpart of a Phoenix channel module. Throwing
 * (or rejecting) from any method crashes the channel: the client gets `phx_error` and the
 * rest of the socket carries on.
 */
export interface ChannelHandler {
  /** Answers `phx_join`; an `error` reply leaves nothing joined. */
  join(payload: unknown): ChannelReply | Promise<ChannelReply>;
  /** Called right after an `ok` join reply was sent: the place for initial pushes. */
  joined?(): void;
  /** Answers one client event; `undefined` sends no reply. */
  handleIn(
    event: string,
    payload: unknown,
  ): ChannelReply | undefined | Promise<ChannelReply | undefined>;
  /** The channel ended; release what it holds. Called once, never throws to the caller. */
  terminate(reason: TerminateReason): void;
}

/** Picks the handler for a topic, like a Phoenix socket's `channel "route:*", ...` lines. */
export type ChannelRouter<A> = (
  topic: string,
) => ((context: ChannelContext<A>) => ChannelHandler) | undefined;
