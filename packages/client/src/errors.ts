/**
 * Every error the client raises carries one of these codes, so callers can branch on
 * `error.code` without `instanceof` (which fails across two copies of the library in a page).
 * Each code is `LENRA_` and the name in upper snake case.
 *
 * @example
 * ```ts
 * try {
 *   await data.onSave();
 * } catch (error) {
 *   if (error.code === LenraErrorCode.ListenerOutcomeUnknown) showWarning("It may have been saved.");
 * }
 * ```
 */
export const LenraErrorCode = {
  /** A function or option got a wrong argument: a {@link LenraArgumentError}, thrown at once. */
  InvalidArgument: "LENRA_INVALID_ARGUMENT",
  /** A JSON Patch could not be applied; the document was left untouched. */
  PatchFailed: "LENRA_PATCH_FAILED",
  /** The server refused to join a route (see `reason`). */
  JoinRefused: "LENRA_JOIN_REFUSED",
  /** The server pushed an `error` event on a route channel. */
  RouteError: "LENRA_ROUTE_ERROR",
  /** A listener ran on the server and failed, or the server refused the call. */
  ListenerFailed: "LENRA_LISTENER_FAILED",
  /** No reply came for a listener call in time: it may or may not have run. */
  ListenerOutcomeUnknown: "LENRA_LISTENER_OUTCOME_UNKNOWN",
  /** A listener was called while its view was not subscribed. */
  ViewClosed: "LENRA_VIEW_CLOSED",
  /** A login callback was refused: wrong page, unknown, expired or replayed state. */
  AuthCallbackInvalid: "LENRA_AUTH_CALLBACK_INVALID",
  /** The authorization server answered the login with an error (`error=` in the callback). */
  AuthFailed: "LENRA_AUTH_FAILED",
  /** The login popup could not be opened. */
  PopupBlocked: "LENRA_POPUP_BLOCKED",
  /** The person closed the login popup before it finished. */
  PopupClosed: "LENRA_POPUP_CLOSED",
  /** The login popup did not finish in time. */
  PopupTimeout: "LENRA_POPUP_TIMEOUT",
  /** A token request failed (network or server error); the session may still be valid. */
  TokenRequestFailed: "LENRA_TOKEN_REQUEST_FAILED",
  /** The session ended: the refresh token was refused or the access token expired. */
  SessionExpired: "LENRA_SESSION_EXPIRED",
  /** The socket server kept refusing the access token. */
  Unauthorized: "LENRA_UNAUTHORIZED",
  /** `auth.login()` on a client created without a `login` (see `@lenra/client/login`). */
  LoginNotConfigured: "LENRA_LOGIN_NOT_CONFIGURED",
  /** A method of a client that was disposed: create a new client. */
  ClientDisposed: "LENRA_CLIENT_DISPOSED",
} as const;

export type LenraErrorCode = (typeof LenraErrorCode)[keyof typeof LenraErrorCode];

/** What every error class takes: its message, and the error that caused it when there is one. */
export interface LenraErrorOptions {
  /** What went wrong and what to do, for people. */
  message: string;
  /** The error this one comes from, as `error.cause`. */
  cause?: unknown;
}

/**
 * Base class of every error raised by `@lenra/client`, except wrong arguments (a
 * {@link LenraArgumentError}, which is a `TypeError`). Every error class takes one options
 * object; its members become the error's fields.
 *
 * @example
 * ```ts
 * const error = new LenraError({ code: "LENRA_CLIENT_DISPOSED", message: "Gone." });
 * error instanceof Error; // true
 * error.code; // "LENRA_CLIENT_DISPOSED"
 * ```
 */
export class LenraError extends Error {
  override name = "LenraError";
  /** A stable, machine-readable code from {@link LenraErrorCode}. */
  declare readonly code: LenraErrorCode;

  constructor({ message, cause, ...fields }: LenraErrorOptions & { code: LenraErrorCode }) {
    // Only an error with a cause gets a `cause` member.
    super(message, cause === undefined ? undefined : { cause });
    Object.assign(this, fields);
  }
}

/**
 * A wrong argument or option, thrown at once by the function that received it, with a message
 * naming it. A `TypeError`, as JavaScript throws for wrong arguments, with the code
 * `LENRA_INVALID_ARGUMENT`.
 *
 * @example
 * ```ts
 * try {
 *   createLenraClient({ socketEndpoint: "http://example.com" });
 * } catch (error) {
 *   error instanceof TypeError; // true
 *   error.code; // "LENRA_INVALID_ARGUMENT"
 * }
 * ```
 */
export class LenraArgumentError extends TypeError {
  override name = "LenraArgumentError";
  readonly code = "LENRA_INVALID_ARGUMENT";

  constructor({ message, cause }: LenraErrorOptions) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

/**
 * The error for a wrong argument: `<where>: \`<name>\` <expected>, got <what it got>`. Shows a
 * string as it is and anything else as its type only (it may be private data).
 *
 * @internal
 */
export function wrongArgument(
  where: string,
  name: string,
  expected: string,
  value: unknown,
): LenraArgumentError {
  return new LenraArgumentError({
    message: `${where}: \`${name}\` ${expected}, got ${typeof value === "string" ? JSON.stringify(value) : typeof value}.`,
  });
}

/** The kinds of patch failure, so tests and logs can tell them apart. */
export type PatchFailure =
  | "invalid_patch"
  | "invalid_operation"
  | "invalid_pointer"
  | "path_not_found"
  | "test_failed"
  | "forbidden_path"
  /** A value nested deeper than the client shows (a stack overflow waiting to happen). */
  | "too_deep";

/**
 * A JSON Patch that could not be applied. Patches are all or nothing: when this is thrown,
 * nothing of the patch was applied.
 *
 * @example
 * ```ts
 * try {
 *   applyPatch({ list: [] }, [{ op: "remove", path: "/list/0" }]);
 * } catch (error) {
 *   if (error instanceof LenraPatchError) error.failure; // "path_not_found", error.index: 0
 * }
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc6902#section-5 (error handling)
 */
export class LenraPatchError extends LenraError {
  override name = "LenraPatchError";
  /** Why the operation failed. */
  declare readonly failure: PatchFailure;
  /** Index of the failing operation in the patch, or -1 when the patch itself is malformed. */
  declare readonly index: number;
  /** The failing operation, as received. */
  declare readonly operation: unknown;

  constructor(
    options: LenraErrorOptions & { failure: PatchFailure; index: number; operation: unknown },
  ) {
    super({ code: "LENRA_PATCH_FAILED", ...options });
  }
}

/**
 * The server's description of a failure: `{ message, reason, metadata }` as in the Lenra protocol.
 * For an app failure Lenra says `{ message: "Internal server error.", reason: "error_500",
 * metadata: <the app's text> }`; `message` here is then the app's text.
 *
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
 *
 * @see PROTOCOL.md section 3
 */
export function readServerErrorDetail(value: unknown): ServerErrorDetail {
  const { message, reason, metadata } = (
    value && typeof value === "object" ? value : { message: value }
  ) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === "string" && v.trim() !== "" ? v : undefined);
  return {
    message:
      (reason === APP_FAILURE_REASON ? text(metadata) : undefined) ??
      text(message) ??
      "Unknown error",
    reason: typeof reason === "string" ? reason : "unknown",
    metadata,
  };
}

/** Reads a route `error` event: `{ errors: [...] }` or a single `{ message, reason, metadata }`. */
export function readServerErrorDetails(payload: unknown): ServerErrorDetail[] {
  const errors = (payload as { errors?: unknown } | null)?.errors;
  return Array.isArray(errors) && errors.length > 0
    ? errors.map(readServerErrorDetail)
    : [readServerErrorDetail(payload)];
}

/** What an error about one route's server reply holds. */
export interface LenraRouteErrorOptions extends LenraErrorOptions {
  /** The route path, such as `/counter/me`. */
  route: string;
  /** The server's reply or event payload, as received. */
  response?: unknown;
}

/**
 * The server refused to join a route, for example `route_does_not_exist`; the view shows it as
 * its `error`.
 *
 * @example
 * ```ts
 * const { error } = lenra.view("/admin").getSnapshot();
 * if (error instanceof LenraJoinError && error.reason === "route_does_not_exist") showNotFound();
 * ```
 * @see PROTOCOL.md section 3
 */
export class LenraJoinError extends LenraError {
  override name = "LenraJoinError";
  /** The route path. */
  declare readonly route: string;
  /** The server's reason, such as `route_does_not_exist`, or `timeout` when no reply came. */
  declare readonly reason: string;
  /** The server's `metadata`, as received. */
  declare readonly metadata: unknown;
  /** The server's reply payload, as received. */
  declare readonly response: unknown;

  constructor(options: LenraRouteErrorOptions & { reason: string; metadata?: unknown }) {
    super({ code: "LENRA_JOIN_REFUSED", ...options });
  }
}

/**
 * The server reported an error on a route (a view that failed to render, a listener that
 * failed); the view keeps its data and shows it as its `error`.
 *
 * @example
 * ```ts
 * const { error } = view.getSnapshot();
 * if (error instanceof LenraRouteError) console.warn(error.errors.map((e) => e.message));
 * ```
 * @see PROTOCOL.md section 3
 */
export class LenraRouteError extends LenraError {
  override name = "LenraRouteError";
  declare readonly route: string;
  /** Every error the server reported, in order: at least one. */
  declare readonly errors: readonly ServerErrorDetail[];
  /** The server's `error` event payload, as received. */
  declare readonly response: unknown;

  constructor(options: LenraRouteErrorOptions & { errors: readonly ServerErrorDetail[] }) {
    super({ code: "LENRA_ROUTE_ERROR", ...options });
  }

  /** The first error's reason. */
  get reason(): string {
    return this.errors[0]?.reason ?? "unknown";
  }
}

/**
 * A listener call failed on the server or was refused (for example `unknow_listener_code`), or
 * could not be sent (code `LENRA_VIEW_CLOSED`).
 *
 * @example
 * ```ts
 * await data.onSave().catch((error: LenraListenerError) => showError(error.message));
 * ```
 * @see PROTOCOL.md section 3
 */
export class LenraListenerError extends LenraError {
  override name = "LenraListenerError";
  declare readonly route: string;
  /** The server's reason when it gave one. */
  declare readonly reason: string;
  /** The server's reply payload, as received. */
  declare readonly response: unknown;

  constructor(
    options: LenraRouteErrorOptions & {
      reason: string;
      /** Defaults to `LENRA_LISTENER_FAILED`. */
      code?: LenraErrorCode;
    },
  ) {
    super({ code: "LENRA_LISTENER_FAILED", ...options });
  }
}

/**
 * No reply came for a listener call before the timeout (code `LENRA_LISTENER_OUTCOME_UNKNOWN`).
 * The call was sent once and is never resent: the listener may or may not have run.
 *
 * @example
 * ```ts
 * await data.onPay().catch((error) => {
 *   if (error instanceof LenraListenerTimeoutError) showWarning("Check before paying again.");
 * });
 * ```
 */
export class LenraListenerTimeoutError extends LenraListenerError {
  override name = "LenraListenerTimeoutError";

  constructor({ route, timeoutMs }: { route: string; timeoutMs: number }) {
    super({
      route,
      reason: "timeout",
      code: "LENRA_LISTENER_OUTCOME_UNKNOWN",
      message: `No reply within ${timeoutMs} ms for a listener of "${route}": it may or may not have run, and was not resent.`,
    });
  }
}

/**
 * A login, token or logout step failed. Never carries a token, code, verifier or state.
 *
 * @example
 * ```ts
 * await lenra.auth.login().catch((error: LenraAuthError) => {
 *   if (error.code === "LENRA_POPUP_BLOCKED") showHint("Allow popups for this site.");
 * });
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2 (OAuth error codes)
 */
export class LenraAuthError extends LenraError {
  override name = "LenraAuthError";
  /** The OAuth error code (`access_denied`, `invalid_grant`…) when the server gave one. */
  declare readonly oauthError: string | undefined;

  constructor(
    options: LenraErrorOptions & { code: LenraErrorCode; oauthError?: string | undefined },
  ) {
    super(options);
  }
}
