import type { JsonObject } from "./json.ts";

/**
 * The `reason` strings the dev server sends, spelled as Lenra's server spells them (including
 * `unknow_listener_code`), so a client written against the dev server works against Lenra.
 */
export const ErrorReason = {
  /** A route that does not exist or that the session's roles may not see. */
  RouteDoesNotExist: "route_does_not_exist",
  /** A `run` whose code this session never rendered. Lenra's spelling, sic. */
  UnknownListenerCode: "unknow_listener_code",
  /** The code is known but the app has no listener of that name any more. */
  ListenerNotFound: "listener_not_found",
  /** The app's listener threw. */
  ListenerError: "listener_error",
  /** The app's view threw or returned something that is not JSON. */
  ViewError: "view_error",
  /** A route or routes join with a mode other than `json`. */
  IncorrectViewMode: "incorrect_view_mode",
  /** The connection's token was refused. */
  InvalidToken: "invalid_token",
} as const;

export type ErrorReason = (typeof ErrorReason)[keyof typeof ErrorReason];

/** The `{ message, reason, metadata }` shape Lenra uses for errors in replies and pushes. */
export type LenraErrorPayload = {
  message: string;
  reason: string;
  metadata?: JsonObject;
};

/**
 * An expected failure a backend reports to the protocol layer (a refused join, a failed
 * listener). Anything else a backend throws is treated as a crash, as Phoenix would.
 */
export class LenraBackendError extends Error {
  override name = "LenraBackendError";
  /** Machine-readable reason sent to the client, see {@link ErrorReason}. */
  readonly reason: string;
  /** Extra JSON details sent with the error. */
  readonly metadata: JsonObject | undefined;

  constructor(
    reason: string,
    message: string,
    options?: { metadata?: JsonObject; cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
    this.metadata = options?.metadata;
  }

  /** The payload Lenra sends for this error. */
  toPayload(): LenraErrorPayload {
    const payload: LenraErrorPayload = { message: this.message, reason: this.reason };
    if (this.metadata !== undefined) payload.metadata = this.metadata;
    return payload;
  }
}

/** The route does not exist for this session: unknown path, or a role that may not see it. */
export class RouteNotFoundError extends LenraBackendError {
  override name = "RouteNotFoundError";

  constructor(path: string) {
    super(
      ErrorReason.RouteDoesNotExist,
      "The given route does not exist. Please check your manifest.",
      { metadata: { route: path } },
    );
  }
}

/** A `run` with a code this session does not know. */
export class UnknownListenerError extends LenraBackendError {
  override name = "UnknownListenerError";

  constructor() {
    super(ErrorReason.UnknownListenerCode, "No listeners found for the given code");
  }
}

/**
 * A listener ran and failed; `cause` holds what the app threw. The name stays on the server:
 * the protocol never tells a client which listener a code stands for.
 */
export class ListenerFailedError extends LenraBackendError {
  override name = "ListenerFailedError";
  readonly listenerName: string;

  constructor(listenerName: string, cause: unknown) {
    super(
      ErrorReason.ListenerError,
      cause instanceof Error && cause.message ? cause.message : "The listener failed.",
      { cause },
    );
    this.listenerName = listenerName;
  }
}
