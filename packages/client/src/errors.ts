/**
 * Every error the client raises derives from {@link LenraError} and carries one of these codes,
 * so callers can branch on `error.code` without `instanceof` across bundles.
 */
export const LenraErrorCode = {
  /** A JSON Patch could not be applied; the document was left untouched. */
  PatchFailed: "patch_failed",
  /** The server refused to join a route (see `reason`). */
  JoinRefused: "join_refused",
  /** The server pushed an `error` event on a route channel. */
  RouteError: "route_error",
  /** A listener ran on the server and failed, or the server refused the call. */
  ListenerFailed: "listener_failed",
  /** No reply came for a listener call in time: it may or may not have run. */
  ListenerOutcomeUnknown: "listener_outcome_unknown",
  /** A listener was called while its view was not subscribed. */
  ViewClosed: "view_closed",
  /** A login callback was refused: wrong page, unknown, expired or replayed state. */
  AuthCallbackInvalid: "auth_callback_invalid",
  /** The authorization server answered the login with an error (`error=` in the callback). */
  AuthFailed: "auth_failed",
  /** The login popup could not be opened. */
  PopupBlocked: "popup_blocked",
  /** The person closed the login popup before it finished. */
  PopupClosed: "popup_closed",
  /** The login popup did not finish in time. */
  PopupTimeout: "popup_timeout",
  /** A token request failed (network or server error); the session may still be valid. */
  TokenRequestFailed: "token_request_failed",
  /** The session ended: the refresh token was refused or the access token expired. */
  SessionExpired: "session_expired",
  /** The socket server kept refusing the access token. */
  Unauthorized: "unauthorized",
  /** `auth.login()` on a client created without a `login` (see `@lenra/client/login`). */
  LoginNotConfigured: "login_not_configured",
  /** A method of a client that was disposed: create a new client. */
  ClientDisposed: "client_disposed",
} as const;

export type LenraErrorCode = (typeof LenraErrorCode)[keyof typeof LenraErrorCode];

/** Base class of every error raised by `@lenra/client`. */
export class LenraError extends Error {
  override name = "LenraError";
  /** A stable, machine-readable code from {@link LenraErrorCode}. */
  readonly code: LenraErrorCode;

  constructor(code: LenraErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The kinds of patch failure, so tests and logs can tell them apart. */
export type PatchFailure =
  | "invalid_patch"
  | "invalid_operation"
  | "invalid_pointer"
  | "path_not_found"
  | "test_failed"
  | "forbidden_path";

/**
 * A JSON Patch (RFC 6902) that could not be applied. Patches are all-or-nothing: when this is
 * thrown, nothing of the patch was applied.
 */
export class LenraPatchError extends LenraError {
  override name = "LenraPatchError";
  /** Why the operation failed. */
  readonly failure: PatchFailure;
  /** Index of the failing operation in the patch, or -1 when the patch itself is malformed. */
  readonly index: number;
  /** The failing operation, as received. */
  readonly operation: unknown;

  constructor(failure: PatchFailure, index: number, operation: unknown, message: string) {
    super(LenraErrorCode.PatchFailed, message);
    this.failure = failure;
    this.index = index;
    this.operation = operation;
  }
}

/**
 * The server's description of a failure: `{ message, reason, metadata }` as in the Lenra protocol.
 * For an app failure Lenra says `{ message: "Internal server error.", reason: "error_500",
 * metadata: <the app's text> }`; `message` here is then the app's text.
 * @see PROTOCOL.md section 3
 */
export interface ServerErrorDetail {
  readonly message: string;
  readonly reason: string;
  readonly metadata?: unknown;
}

/** Lenra's reason for an app failure (a view or listener that threw): the app's text is in `metadata`. */
export const APP_FAILURE_REASON = "error_500";

/**
 * Reads one error of a server reply, as Lenra or the dev server sends it. Lenra wraps an app's
 * failure in its technical error 500, whose `message` is the same for every failure: the app's
 * own words are in `metadata`, so they become the message.
 */
export function readServerErrorDetail(value: unknown): ServerErrorDetail {
  if (value && typeof value === "object") {
    const { message, reason, metadata } = value as Record<string, unknown>;
    const appText =
      reason === APP_FAILURE_REASON && typeof metadata === "string" && metadata.trim() !== ""
        ? metadata
        : undefined;
    return {
      message:
        appText ?? (typeof message === "string" && message !== "" ? message : "Unknown error"),
      reason: typeof reason === "string" ? reason : "unknown",
      metadata,
    };
  }
  return {
    message: typeof value === "string" && value !== "" ? value : "Unknown error",
    reason: "unknown",
  };
}

/** Reads a route `error` event: `{ errors: [...] }` or a single `{ message, reason, metadata }`. */
export function readServerErrorDetails(payload: unknown): ServerErrorDetail[] {
  const errors = (payload as { errors?: unknown } | null)?.errors;
  if (Array.isArray(errors) && errors.length > 0) return errors.map(readServerErrorDetail);
  return [readServerErrorDetail(payload)];
}

/** The server refused to join a route, for example `route_does_not_exist`. */
export class LenraJoinError extends LenraError {
  override name = "LenraJoinError";
  /** The route path. */
  readonly route: string;
  /** The server's reason, such as `route_does_not_exist`, or `timeout` when no reply came. */
  readonly reason: string;
  readonly metadata: unknown;
  /** The server's reply payload, as received. */
  readonly response: unknown;

  constructor(route: string, detail: ServerErrorDetail, response?: unknown) {
    super(
      LenraErrorCode.JoinRefused,
      `Could not join the route "${route}": ${detail.message || detail.reason}`,
    );
    this.route = route;
    this.reason = detail.reason;
    this.metadata = detail.metadata;
    this.response = response;
  }
}

/** The server reported an error on a route (a view that failed to render, a listener that failed). */
export class LenraRouteError extends LenraError {
  override name = "LenraRouteError";
  readonly route: string;
  /** Every error the server reported, in order. */
  readonly errors: readonly ServerErrorDetail[];
  /** The first error's reason. */
  readonly reason: string;
  /** The server's `error` event payload, as received. */
  readonly response: unknown;

  constructor(route: string, errors: readonly ServerErrorDetail[], response?: unknown) {
    const first = errors[0] ?? { message: "Unknown error", reason: "unknown" };
    super(LenraErrorCode.RouteError, `The route "${route}" reported an error: ${first.message}`);
    this.route = route;
    this.errors = errors;
    this.reason = first.reason;
    this.response = response;
  }
}

/** A listener call failed on the server, or was refused (for example `unknow_listener_code`). */
export class LenraListenerError extends LenraError {
  override name = "LenraListenerError";
  readonly route: string;
  /** The server's reason when it gave one. */
  readonly reason: string;
  /** The server's reply payload, as received. */
  readonly response: unknown;

  constructor(
    route: string,
    reason: string,
    message: string,
    response?: unknown,
    code: LenraErrorCode = LenraErrorCode.ListenerFailed,
  ) {
    super(code, message);
    this.route = route;
    this.reason = reason;
    this.response = response;
  }
}

/**
 * No reply came for a listener call before the timeout. The call was sent once and is never
 * resent: the listener may or may not have run on the server.
 */
export class LenraListenerTimeoutError extends LenraListenerError {
  override name = "LenraListenerTimeoutError";

  constructor(route: string, timeoutMs: number) {
    super(
      route,
      "timeout",
      `No reply from the server within ${timeoutMs} ms for a listener of "${route}": it may or may not have run. It was not resent.`,
      undefined,
      LenraErrorCode.ListenerOutcomeUnknown,
    );
  }
}

/** A login, token or logout step failed. Never carries a token, code, verifier or state. */
export class LenraAuthError extends LenraError {
  override name = "LenraAuthError";
  /** The OAuth error code (`access_denied`, `invalid_grant`…) when the server gave one. */
  readonly oauthError: string | undefined;

  constructor(
    code: LenraErrorCode,
    message: string,
    options: { oauthError?: string | undefined; cause?: unknown } = {},
  ) {
    super(code, message, { cause: options.cause });
    this.oauthError = options.oauthError;
  }
}
