import { AppRequestError, AppRequestErrorReason } from "../app/client.ts";
import { DevServerError } from "../shared/errors.ts";
import type { JsonValue } from "../shared/json.ts";
import { describeError } from "../shared/log.ts";
import type { LenraErrorPayload } from "./backend.ts";

export type { LenraErrorPayload } from "./backend.ts";

/**
 * The `reason` strings the dev server sends, spelled as Lenra's server spells them (including
 * `unknow_listener_code`), so a client written against the dev server works against Lenra.
 *
 * @example
 * ```ts
 * throw new LenraBackendError(ErrorReason.ListenerError, "The counter is locked.");
 * ```
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
  /** Lenra's technical error 500: the app failed; its own text is in `metadata`. */
  AppError: "error_500",
  /** The app answered HTTP 400. */
  AppBadRequest: "bad_request",
  /** The app answered HTTP 404. */
  AppNotFound: "error_404",
  /** The app's gateway timed out (HTTP 504). */
  AppTimeout: "timeout",
  /** The app answered another unexpected status. */
  AppUnknownError: "unknown_error",
  /** Nothing answered, or too late: Lenra names its function runner, OpenFaaS. */
  AppUnreachable: "openfaas_not_reachable",
  /** A `routes` join in a mode Lenra does not list routes for. */
  InvalidChannelName: "invalid_channel_name",
  /** The dev server's own: a listener's changes could not be written to the data file. */
  DataNotSaved: "data_not_saved",
} as const;

export type ErrorReason = (typeof ErrorReason)[keyof typeof ErrorReason];

/**
 * An expected failure a backend reports to the protocol layer (a refused join, a failed
 * listener). Anything else a backend throws is treated as a crash, as Phoenix would. Its
 * `reason`, `message` and `metadata` reach the client (`status_code` too, in a refused join or
 * a failed run's reply).
 *
 * @example
 * ```ts
 * run(code) {
 *   throw new LenraBackendError("not_allowed", "You may not do that.", { metadata: { code } });
 * },
 * ```
 */
export class LenraBackendError extends DevServerError {
  override name = "LenraBackendError";
  /** Extra JSON details sent with the error (on Lenra, often a string: the app's text). */
  readonly metadata: JsonValue | undefined;
  /** The HTTP-like status Lenra's error structs carry, sent as `status_code` when set. */
  readonly statusCode: number | undefined;

  constructor(
    reason: string,
    message: string,
    options?: { metadata?: JsonValue; statusCode?: number; cause?: unknown },
  ) {
    super(reason, message, options);
    this.metadata = options?.metadata;
    this.statusCode = options?.statusCode;
  }

  /** The payload of a refused join and of a failed run's reply: the whole error. */
  toPayload(): LenraErrorPayload {
    const payload = this.toEventPayload();
    if (this.statusCode !== undefined) payload.status_code = this.statusCode;
    return payload;
  }

  /** The payload of an `error` event: Lenra translates the error first, dropping `status_code`. */
  toEventPayload(): LenraErrorPayload {
    const payload: LenraErrorPayload = { message: this.message, reason: this.reason };
    if (this.metadata !== undefined) payload.metadata = this.metadata;
    return payload;
  }
}

/**
 * The route does not exist for this session: unknown path, or a role that may not see it.
 * Lenra's business error, with the path as `metadata` and status 400.
 *
 * @example
 * ```ts
 * openRoute(path, sink) {
 *   if (!routes.has(path)) throw new RouteNotFoundError(path); // the join is refused
 * },
 * ```
 */
export class RouteNotFoundError extends LenraBackendError {
  override name = "RouteNotFoundError";

  constructor(path: string) {
    super(
      ErrorReason.RouteDoesNotExist,
      "The given route does not exist. Please check your manifest.",
      { metadata: path, statusCode: 400 },
    );
  }
}

/**
 * A `run` with a code this session does not know; Lenra puts the code in `metadata`.
 *
 * @example
 * ```ts
 * run(code) {
 *   const listener = sent.get(code);
 *   if (!listener) throw new UnknownListenerError(code);
 * },
 * ```
 */
export class UnknownListenerError extends LenraBackendError {
  override name = "UnknownListenerError";

  constructor(code: string) {
    super(ErrorReason.UnknownListenerCode, "No listeners found for the given code", {
      metadata: code,
      statusCode: 400,
    });
  }
}

/**
 * A listener ran, but the data file could not be written afterwards: its changes are in memory
 * and may be lost if the dev server stops. The dev server's own failure; Lenra has no data file.
 *
 * @example
 * ```ts
 * new DataNotSavedError(new Error("ENOSPC: no space left on device"));
 * ```
 */
export class DataNotSavedError extends LenraBackendError {
  override name = "DataNotSavedError";

  constructor(cause: unknown) {
    // The system's error code only (ENOSPC, EACCES...): the client need not learn file paths.
    const code = (cause as { code?: unknown } | undefined)?.code;
    super(
      ErrorReason.DataNotSaved,
      `The listener ran, but the data file could not be written${typeof code === "string" ? ` (${code})` : ""}: its changes may be lost when the dev server stops. Check the disk and the file's permissions.`,
      { cause, statusCode: 500 },
    );
  }
}

/** A route join in a mode that is neither `json` nor `lenra`, with Lenra's message. */
export class IncorrectViewModeError extends LenraBackendError {
  override name = "IncorrectViewModeError";

  constructor(mode: JsonValue) {
    super(ErrorReason.IncorrectViewMode, "The view mode should be one of 'lenra', 'json'.", {
      metadata: { mode },
      statusCode: 400,
    });
  }
}

/**
 * What Lenra makes of a failed request to the app (its `ApplicationServices.response/2`): a
 * technical error named after the HTTP status, with the app's answer as `metadata`, so a 500
 * from `@lenra/app` becomes `{ message: "Internal server error.", reason: "error_500",
 * metadata: <the app's text>, status_code: 500 }`. Failures the dev server detects itself (a
 * view that nests itself, an answer that is not JSON) take the error 500 shape too, with the
 * dev server's explanation as `metadata`.
 *
 * @see PROTOCOL.md §3
 */
export function appFailure(error: unknown): LenraBackendError {
  if (error instanceof LenraBackendError) return error;
  const request = findAppRequestError(error);
  const text = describeError(error);
  if (request?.reason === AppRequestErrorReason.Failed) {
    const metadata = request.body ?? request.message;
    switch (request.status) {
      case 400:
        return technical(
          ErrorReason.AppBadRequest,
          "Server cannot understand or process the request due to a client-side error.",
          metadata,
          400,
          error,
        );
      case 404:
        return technical(ErrorReason.AppNotFound, "Not Found.", metadata, 404, error);
      case 500:
        return technical(ErrorReason.AppError, "Internal server error.", metadata, 500, error);
      case 504:
        return technical(ErrorReason.AppTimeout, "Timeout", metadata, 500, error);
      default:
        return technical(ErrorReason.AppUnknownError, "Unknown error", metadata, 500, error);
    }
  }
  if (
    request?.reason === AppRequestErrorReason.Unreachable ||
    request?.reason === AppRequestErrorReason.Timeout
  ) {
    return technical(
      ErrorReason.AppUnreachable,
      "Openfaas could not be reached.",
      request.message,
      500,
      error,
    );
  }
  return technical(ErrorReason.AppError, "Internal server error.", text, 500, error);
}

/** The app's own words in a Lenra error (its `metadata`), else the error's message. */
export function failureText(failure: LenraBackendError): string {
  return typeof failure.metadata === "string" && failure.metadata.trim() !== ""
    ? failure.metadata.trim()
    : failure.message;
}

function technical(
  reason: string,
  message: string,
  metadata: string,
  statusCode: number,
  cause: unknown,
): LenraBackendError {
  return new LenraBackendError(reason, message, { metadata, statusCode, cause });
}

function findAppRequestError(error: unknown): AppRequestError | undefined {
  let current = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    if (current instanceof AppRequestError) return current;
    current = current.cause;
  }
  return undefined;
}

/**
 * A listener ran and failed; `cause` holds what the app threw. The name stays on the server:
 * the protocol never tells a client which listener a code stands for.
 *
 * @example
 * ```ts
 * try {
 *   await listener(event);
 * } catch (error) {
 *   throw new ListenerFailedError("increment", error); // reason "listener_error"
 * }
 * ```
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
