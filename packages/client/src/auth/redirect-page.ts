/**
 * For the app's redirect page (`redirect.html`): when the page is the login popup, posts its URL
 * (which carries the code) to the window that opened it, restricted to this page's own origin,
 * then closes the popup. Returns `false` when the page is not a popup, so the page can handle a
 * full-page redirect login itself.
 *
 * @example
 * ```html
 * <script type="module">
 *   import { sendLoginCallbackToOpener } from "@lenra/client/login";
 *   // In the popup: hand the callback to the app's window. After a redirect: load the app.
 *   if (!sendLoginCallbackToOpener()) import("/src/main.ts");
 * </script>
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2 (authorization response)
 */
export function sendLoginCallbackToOpener(options: { close?: boolean } = {}): boolean {
  if (typeof window === "undefined") return false;
  const opener = window.opener as Window | null;
  if (!opener || opener === window) return false;
  // The message the login's popup wait accepts (`CALLBACK_MESSAGE_TYPE` in popup.ts). The
  // opener is the app itself, of this page's origin: never "*".
  opener.postMessage(
    { type: "lenra:login-callback", url: window.location.href },
    window.location.origin,
  );
  if (options.close !== false) window.close();
  return true;
}
