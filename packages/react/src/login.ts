/**
 * The login of `@lenra/client/login`, re-exported: `lenraLogin` for `createLenraClient({ login })`
 * and `sendLoginCallbackToOpener` for the redirect page.
 *
 * Only an app that imports this entry bundles the login code; without it the client is a guest.
 *
 * @example
 * ```ts
 * import { createLenraClient } from "@lenra/react";
 * import { lenraLogin } from "@lenra/react/login";
 *
 * export const lenra = createLenraClient({
 *   appName: "counter-app",
 *   login: lenraLogin({
 *     clientId: "my-client-id",
 *     scopes: ["openid", "app:websocket", "offline_access"],
 *   }),
 * });
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7636 (PKCE) and PROTOCOL.md §1 (endpoints and defaults).
 * @packageDocumentation
 */
"use client";
export * from "@lenra/client/login";
