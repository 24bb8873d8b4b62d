import type { LenraAuthError, LenraError } from "../errors.ts";

/**
 * The type of the message the redirect page posts to the window that opened the login popup;
 * `sendLoginCallbackToOpener` (redirect-page.ts, which pages load without this module) posts
 * the same literal.
 */
export const CALLBACK_MESSAGE_TYPE = "lenra:login-callback";

/** How long a closed popup's message may still arrive. */
const CLOSED_GRACE_MS = 1000;

/**
 * Waits for the redirect page inside `popup` to post its callback URL. Only a message from
 * that very window and from the redirect URI's exact origin is accepted; a closed popup, the
 * timeout or `signal` (the client's, aborted when it is disposed, with the error to reject with)
 * rejects. Every listener and timer is removed when it settles. `AuthError` is
 * `LenraAuthError`, handed in by the session (see lenra-login.ts).
 */
export function waitForPopupCallback(
  popup: Window,
  redirectUri: string,
  timeoutMs: number,
  signal: AbortSignal,
  AuthError: typeof LenraAuthError,
): Promise<URL> {
  const expected = new URL(redirectUri);
  return new Promise<URL>((resolve, reject) => {
    let closedGrace: ReturnType<typeof setTimeout> | undefined;
    const settle = (error: LenraError | undefined, url?: URL) => {
      window.removeEventListener("message", onMessage);
      clearInterval(closedPoll);
      clearTimeout(closedGrace);
      clearTimeout(timeout);
      signal.removeEventListener("abort", onAbort);
      if (!popup.closed) popup.close();
      if (error) reject(error);
      else resolve(url!);
    };
    const onMessage = ({ origin, source, data }: MessageEvent) => {
      if (origin !== expected.origin || source !== popup) return;
      if (data?.type !== CALLBACK_MESSAGE_TYPE || typeof data.url !== "string") return;
      let url: URL;
      try {
        url = new URL(data.url);
      } catch {
        return;
      }
      if (url.origin === expected.origin && url.pathname === expected.pathname) {
        settle(undefined, url);
      }
    };
    const onAbort = () => settle(signal.reason as LenraError);
    const closedPoll = setInterval(() => {
      if (!popup.closed) return;
      clearInterval(closedPoll);
      // The redirect page posts its message, then closes itself: the browser may show the
      // popup closed before it delivers the message. Wait a little for it.
      closedGrace = setTimeout(
        () =>
          settle(
            new AuthError({
              code: "LENRA_POPUP_CLOSED",
              message: "The login popup was closed before the login finished.",
            }),
          ),
        CLOSED_GRACE_MS,
      );
    }, 250);
    const timeout = setTimeout(
      () =>
        settle(
          new AuthError({
            code: "LENRA_POPUP_TIMEOUT",
            message: `The login popup did not finish within ${timeoutMs} ms.`,
          }),
        ),
      timeoutMs,
    );
    window.addEventListener("message", onMessage, { signal });
    signal.addEventListener("abort", onAbort);
    if (signal.aborted) onAbort();
  });
}
