import {
  LenraAuthError,
  LenraError,
  LenraErrorCode,
  LenraJoinError,
  LenraListenerError,
  LenraRouteError,
} from "@lenra/vue";

/** Lenra's reason for an app's own failure: its text is what the app wrote for its users. */
const APP_FAILURE = "error_500";

/**
 * The app's own words, when the error carries them: Lenra puts the text a listener or a view
 * threw in the `metadata` of its error 500.
 */
function appText(error: LenraError): string | undefined {
  let text: unknown;
  if (error instanceof LenraListenerError && error.reason === APP_FAILURE) {
    text = (error.response as { error?: { metadata?: unknown } } | undefined)?.error?.metadata;
  } else if (error instanceof LenraJoinError && error.reason === APP_FAILURE) {
    text = error.metadata;
  } else if (error instanceof LenraRouteError && error.reason === APP_FAILURE) {
    text = error.errors[0]?.metadata;
  }
  return typeof text === "string" && text.trim() !== "" ? text : undefined;
}

const MESSAGES: Partial<Record<LenraErrorCode, string>> = {
  [LenraErrorCode.ListenerFailed]: "That did not work. Please try again.",
  [LenraErrorCode.ListenerOutcomeUnknown]:
    "The server did not answer in time: check whether it was done before trying again.",
  [LenraErrorCode.JoinRefused]: "This cannot be shown. It may need you to log in, or be gone.",
  [LenraErrorCode.RouteError]: "This could not be updated. It shows the last version received.",
  [LenraErrorCode.PopupBlocked]:
    "Your browser blocked the login window. Allow pop-ups for this site, or use “Log in”.",
  [LenraErrorCode.PopupClosed]: "The login was cancelled.",
  [LenraErrorCode.PopupTimeout]: "The login took too long. Please try again.",
  [LenraErrorCode.AuthFailed]: "The login did not go through. Please try again.",
  [LenraErrorCode.AuthCallbackInvalid]: "This login has expired. Please log in again.",
  [LenraErrorCode.TokenRequestFailed]:
    "The login server cannot be reached. Check your connection and try again.",
  [LenraErrorCode.SessionExpired]: "Your session has ended. Please log in again.",
  [LenraErrorCode.Unauthorized]: "Your session has ended. Please log in again.",
};

/**
 * What to tell the person using the app about an error, in their words. The detail a developer
 * needs (route, reason, the server's reply) is in the error itself, which the page logs to the
 * console in development builds.
 */
export function userMessage(error: Error): string {
  if (error instanceof LenraError) {
    // The person pressed "Cancel" on the login page.
    if (error instanceof LenraAuthError && error.oauthError === "access_denied") {
      return "The login was cancelled.";
    }
    return appText(error) ?? MESSAGES[error.code] ?? "Something went wrong. Please try again.";
  }
  return "Something went wrong. Please try again.";
}

/** Logs the error behind a message, for the developer, in development builds only. */
export function logForDevelopers(error: Error): void {
  if (import.meta.env.DEV) console.error(error);
}
