import { LenraAuthError, type LenraError, LenraErrorCode } from "../errors.ts";

/** The message the redirect page posts to the window that opened the login popup. */
export const CALLBACK_MESSAGE_TYPE = "lenra:login-callback";

interface CallbackMessage {
  type: typeof CALLBACK_MESSAGE_TYPE;
  url: string;
}

function isCallbackMessage(data: unknown): data is CallbackMessage {
  return (
    typeof data === "object" &&
    data !== null &&
    (data as CallbackMessage).type === CALLBACK_MESSAGE_TYPE &&
    typeof (data as CallbackMessage).url === "string"
  );
}

/** How long a closed popup's message may still arrive. */
const CLOSED_GRACE_MS = 1000;

/**
 * Opens the login popup. Call it synchronously inside the click handler: browsers only allow
 * popups opened during the user's gesture, so nothing may be awaited before it.
 */
export function openPopup(): Window | null {
  const width = 480;
  const height = 640;
  const left = Math.max(0, (window.screenX ?? 0) + ((window.outerWidth ?? width) - width) / 2);
  const top = Math.max(0, (window.screenY ?? 0) + ((window.outerHeight ?? height) - height) / 2);
  return window.open(
    "about:blank",
    "lenra-login",
    `popup=yes,width=${width},height=${height},left=${Math.round(left)},top=${Math.round(top)}`,
  );
}

/**
 * Waits for the redirect page inside `popup` to post its callback URL. Only a message from
 * that very window and from the redirect URI's exact origin is accepted; a closed popup, the
 * timeout or `signal` (the client's, aborted when it is disposed, with the error to reject with)
 * rejects. Every listener and timer is removed when it settles.
 */
export function waitForPopupCallback(
  popup: Window,
  redirectUri: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<URL> {
  const expectedOrigin = new URL(redirectUri).origin;
  const expectedPath = new URL(redirectUri).pathname;
  return new Promise<URL>((resolve, reject) => {
    let closedGrace: ReturnType<typeof setTimeout> | undefined;
    const cleanup = () => {
      window.removeEventListener("message", onMessage);
      clearInterval(closedPoll);
      clearTimeout(closedGrace);
      clearTimeout(timeout);
      signal.removeEventListener("abort", onAbort);
    };
    const fail = (error: LenraError) => {
      cleanup();
      if (!popup.closed) popup.close();
      reject(error);
    };
    const onMessage = (event: MessageEvent) => {
      if (
        event.origin !== expectedOrigin ||
        event.source !== popup ||
        !isCallbackMessage(event.data)
      )
        return;
      let url: URL;
      try {
        url = new URL(event.data.url);
      } catch {
        return;
      }
      if (url.origin !== expectedOrigin || url.pathname !== expectedPath) return;
      cleanup();
      if (!popup.closed) popup.close();
      resolve(url);
    };
    const onAbort = () => fail(signal.reason as LenraError);
    const closedPoll = setInterval(() => {
      if (!popup.closed) return;
      clearInterval(closedPoll);
      // The redirect page posts its message, then closes itself: the browser may show the
      // popup closed before it delivers the message. Wait a little for it.
      closedGrace = setTimeout(
        () =>
          fail(
            new LenraAuthError(
              LenraErrorCode.PopupClosed,
              "The login popup was closed before the login finished.",
            ),
          ),
        CLOSED_GRACE_MS,
      );
    }, 250);
    const timeout = setTimeout(
      () =>
        fail(
          new LenraAuthError(
            LenraErrorCode.PopupTimeout,
            `The login popup did not finish within ${timeoutMs} ms.`,
          ),
        ),
      timeoutMs,
    );
    window.addEventListener("message", onMessage, { signal });
    signal.addEventListener("abort", onAbort);
    if (signal.aborted) onAbort();
  });
}

/**
 * For the app's redirect page (`redirect.html`): when the page is the login popup, posts its URL
 * (which carries the code) to the window that opened it, restricted to this page's own origin,
 * then closes the popup. Returns `false` when the page is not a popup, so the page can handle a
 * full-page redirect login itself.
 *
 * ```html
 * <script type="module">
 *   import { sendLoginCallbackToOpener } from "@lenra/client/login";
 *   sendLoginCallbackToOpener();
 * </script>
 * ```
 */
export function sendLoginCallbackToOpener(options: { close?: boolean } = {}): boolean {
  if (typeof window === "undefined") return false;
  const opener = window.opener as Window | null;
  if (!opener || opener === window) return false;
  const message: CallbackMessage = { type: CALLBACK_MESSAGE_TYPE, url: window.location.href };
  // The opener is the app itself: same origin as this page. Never "*".
  opener.postMessage(message, window.location.origin);
  if (options.close !== false) window.close();
  return true;
}
