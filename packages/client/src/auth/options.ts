import { LenraArgumentError, wrongArgument } from "../errors.ts";

/**
 * Where the refresh token is kept: `local` (the default) for every tab, `session` for this tab,
 * `memory` for this page only; see {@link LenraLoginOptions.storage}.
 */
export type TokenStorageOption = "memory" | "session" | "local" | TokenStorage;

/**
 * A custom token storage: any `Storage`-like object. It receives one JSON string holding the
 * session's refresh token (never an access token); encrypt or scope it as your platform needs.
 * Its methods are called synchronously.
 *
 * @example
 * ```ts
 * const items = new Map<string, string>();
 * lenraLogin({
 *   clientId: "my-client-id",
 *   storage: {
 *     getItem: (key) => items.get(key) ?? null,
 *     setItem: (key, value) => void items.set(key, value),
 *     removeItem: (key) => void items.delete(key),
 *   },
 * });
 * ```
 */
export interface TokenStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * How the OAuth 2.0 login works: the options of `lenraLogin()`. Every field but `clientId` has a
 * default for a local Lenra (`@lenra/devserver`).
 *
 * @example
 * ```ts
 * lenraLogin({
 *   clientId: "my-client-id",
 *   baseUri: "https://auth.my-lenra.example",
 *   scopes: ["openid", "app:websocket", "offline_access"],
 *   loginMode: "popup",
 * });
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1 (authorization code grant)
 */
export interface LenraLoginOptions {
  /**
   * The OAuth 2.0 client id registered for the app (`lenra-dev` on `@lenra/devserver`).
   *
   * @example `clientId: "my-client-id"`
   */
  clientId: string;
  /**
   * The authorization server's base URL; the Hydra paths are appended (`/oauth2/auth`,
   * `/oauth2/token`, `/oauth2/revoke`, `/oauth2/sessions/logout`).
   * Defaults to `http://localhost:4444`, the local development server.
   *
   * @example `baseUri: "https://auth.my-lenra.example"`
   */
  baseUri?: string;
  /**
   * Overrides the authorization endpoint derived from `baseUri`.
   *
   * @example `authorizationEndpoint: "https://auth.example/authorize"`
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.1
   */
  authorizationEndpoint?: string;
  /**
   * Overrides the token endpoint derived from `baseUri`.
   *
   * @example `tokenEndpoint: "https://auth.example/token"`
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.2
   */
  tokenEndpoint?: string;
  /**
   * Overrides the revocation endpoint derived from `baseUri`.
   *
   * @example `revocationEndpoint: "https://auth.example/revoke"`
   * @see https://www.rfc-editor.org/rfc/rfc7009
   */
  revocationEndpoint?: string;
  /**
   * Overrides the end-session (logout) endpoint derived from `baseUri`.
   *
   * @example `endSessionEndpoint: "https://auth.example/logout"`
   * @see https://openid.net/specs/openid-connect-rpinitiated-1_0.html
   */
  endSessionEndpoint?: string;
  /**
   * An issuer to discover every endpoint from (`/.well-known/openid-configuration`, then
   * `/.well-known/oauth-authorization-server`), instead of `baseUri`.
   *
   * @example `issuer: "https://accounts.example.com"`
   * @see https://www.rfc-editor.org/rfc/rfc8414 (authorization server metadata)
   */
  issuer?: string;
  /**
   * Where the authorization server sends the browser back: a URL, or a path of the page's origin
   * (`/redirect`), resolved when login starts (so server-side builds need no origin). It must be
   * registered for the client. Defaults to `/redirect.html`.
   *
   * @example `redirectUri: "/redirect"`
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.1.2
   */
  redirectUri?: string;
  /**
   * The scopes to ask for. Defaults to `["app:websocket"]`. Add `offline_access` for refresh
   * tokens (without one the session ends with the access token, and no reload, tab or restart
   * keeps it) and `openid` for the user's id (`auth.getSnapshot().user.sub`).
   *
   * @example `scopes: ["openid", "app:websocket", "offline_access"]`
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.3
   */
  scopes?: readonly string[];
  /**
   * How scopes are joined in the request. Defaults to a space, as RFC 6749 says.
   *
   * @example `scopeDelimiter: "+"`
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.3
   */
  scopeDelimiter?: string;
  /**
   * Extra authorization request parameters. Protocol parameters cannot be overridden.
   *
   * @example `extraAuthParams: { prompt: "login", ui_locales: "fr" }`
   * @see https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest
   */
  extraAuthParams?: Readonly<Record<string, string>>;
  /**
   * `redirect` navigates the page to the login; `popup` opens it in a popup and keeps the page.
   * Defaults to `redirect`.
   *
   * @example `loginMode: "popup"`
   */
  loginMode?: "redirect" | "popup";
  /**
   * In popup mode, fall back to a redirect when the browser blocks the popup. Defaults to `false`.
   *
   * @example `popupFallbackToRedirect: true`
   */
  popupFallbackToRedirect?: boolean;
  /**
   * How long a popup login may take. Defaults to 300000 ms (5 minutes).
   *
   * @example `popupTimeoutMs: 120_000`
   */
  popupTimeoutMs?: number;
  /**
   * Where the refresh token is kept, so that the session outlasts the page (the access token is
   * only ever in memory). `local` (the default): every tab of the origin shares one session,
   * kept across reloads and browser restarts, and a login, refresh or logout in one tab is seen
   * by all; `session`: this tab only, across its reloads; `memory`: this page only, gone on
   * reload; or your own {@link TokenStorage}. Storage is readable by any script of the origin:
   * see the README's security section.
   *
   * @example `storage: "memory"`
   */
  storage?: TokenStorageOption;
  /**
   * Allows `http://` endpoints on a loopback host (localhost, 127.0.0.1, [::1]), never
   * elsewhere. Defaults to `true` when every endpoint is the built-in development default,
   * `false` otherwise.
   *
   * @example `allowInsecureRequests: true`
   */
  allowInsecureRequests?: boolean;
  /**
   * Handle the login callback on its own when the page loads at `redirectUri` with a code.
   * Defaults to `true`.
   *
   * @example `handleRedirectCallback: false` (then call `lenra.auth.handleRedirectCallback()`)
   */
  handleRedirectCallback?: boolean;
  /**
   * What logout does with the socket: reconnect as a guest (default) or disconnect.
   *
   * @example `afterLogout: "disconnect"`
   */
  afterLogout?: "guest" | "disconnect";
  /**
   * Where the end-session endpoint sends the browser after logout (needs `openid` and
   * registration): a URL, or a path of the page's origin, resolved at logout.
   *
   * @example `postLogoutRedirectUri: "/"`
   * @see https://openid.net/specs/openid-connect-rpinitiated-1_0.html
   */
  postLogoutRedirectUri?: string;
  /**
   * The `fetch` of the OAuth requests. Defaults to the client's `fetch` option, then the global
   * `fetch`.
   *
   * @example `fetch: (input, init) => fetch(input, { ...init, credentials: "omit" })`
   */
  fetch?: typeof fetch;
}

/** The options that have a default, which `readAuthOptions` fills in. */
type Defaulted =
  | "scopes"
  | "scopeDelimiter"
  | "extraAuthParams"
  | "loginMode"
  | "popupFallbackToRedirect"
  | "popupTimeoutMs"
  | "storage"
  | "allowInsecureRequests"
  | "handleRedirectCallback"
  | "afterLogout";

/** The login options, checked, with their defaults (`baseUri` too, unless `issuer` is set). */
export type AuthSettings = LenraLoginOptions & Required<Pick<LenraLoginOptions, Defaulted>>;

const DEFAULT_AUTH_BASE_URI = "http://localhost:4444";

const DEFAULTS = {
  scopes: ["app:websocket"],
  extraAuthParams: {},
  scopeDelimiter: " ",
  loginMode: "redirect",
  popupFallbackToRedirect: false,
  popupTimeoutMs: 300_000,
  storage: "local",
  handleRedirectCallback: true,
  afterLogout: "guest",
} as const;

/** The options naming the authorization server; the app's pages are the two others. */
const SERVER_URLS = [
  "baseUri",
  "issuer",
  "authorizationEndpoint",
  "tokenEndpoint",
  "revocationEndpoint",
  "endSessionEndpoint",
] as const;

const isBoolean = (value: unknown) => typeof value === "boolean";

/** What each option must be, said as "`<name>` must be <this>", and the test of it. */
const RULES: [keyof LenraLoginOptions, string, (value: unknown) => unknown][] = [
  ["clientId", "a non-empty string", (v) => typeof v === "string" && v.trim()],
  [
    "scopes",
    "a non-empty array of scope names without spaces",
    (v) => Array.isArray(v) && v[0] && v.every((s) => typeof s === "string" && /^\S+$/.test(s)),
  ],
  ["scopeDelimiter", "a non-empty string", (v) => typeof v === "string" && v],
  ["extraAuthParams", "an object of strings", (v) => typeof v === "object" && v],
  ["loginMode", '"redirect" or "popup"', (v) => v === "redirect" || v === "popup"],
  ["popupFallbackToRedirect", "a boolean", isBoolean],
  ["popupTimeoutMs", "a positive number", (v) => typeof v === "number" && v > 0],
  [
    "storage",
    '"memory", "session", "local" or a Storage-like object',
    (v) =>
      v === "memory" ||
      v === "session" ||
      v === "local" ||
      ["getItem", "setItem", "removeItem"].every(
        (method) => typeof (v as Record<string, unknown> | null)?.[method] === "function",
      ),
  ],
  ["allowInsecureRequests", "a boolean", isBoolean],
  ["handleRedirectCallback", "a boolean", isBoolean],
  ["afterLogout", '"guest" or "disconnect"', (v) => v === "guest" || v === "disconnect"],
  ["fetch", "a function", (v) => v === undefined || typeof v === "function"],
];

/** Checks the login options; a wrong one throws a {@link LenraArgumentError} naming it. */
export function readAuthOptions(options: LenraLoginOptions): AuthSettings {
  if (typeof options !== "object" || options === null) {
    throw new LenraArgumentError({
      message: "lenraLogin(options): options must be an object with at least a `clientId`.",
    });
  }
  const settings: Record<string, unknown> = { ...DEFAULTS };
  for (const [name, value] of Object.entries(options)) {
    if (value !== undefined) settings[name] = value;
  }
  // http:// is fine on a loopback host as long as every endpoint is the development default.
  settings.allowInsecureRequests ??= SERVER_URLS.every((name) => options[name] === undefined);
  if (options.issuer === undefined) settings.baseUri ??= DEFAULT_AUTH_BASE_URI;
  const check = (ok: unknown, name: string, expected: string, value = settings[name]) => {
    if (!ok) throw wrongArgument("lenraLogin", name, expected, value);
  };
  for (const [name, expected, test] of RULES)
    check(test(settings[name]), name, `must be ${expected}`);
  if (options.issuer !== undefined && options.baseUri !== undefined) {
    throw new LenraArgumentError({
      message: "lenraLogin: give either `issuer` or `baseUri`, not both.",
    });
  }
  for (const name of [...SERVER_URLS, "redirectUri", "postLogoutRedirectUri"]) {
    const value = settings[name];
    const server = (SERVER_URLS as readonly string[]).includes(name);
    // The app's own pages may be paths of the page's origin, resolved in the browser.
    if (value === undefined || (!server && /^\/(?!\/)/.test(value as string))) continue;
    let url: URL | undefined;
    try {
      url = new URL(value as string);
    } catch {}
    const http = url?.protocol === "http:";
    check(
      typeof value === "string" &&
        (url?.protocol === "https:" ||
          (http && ["localhost", "127.0.0.1", "[::1]"].includes(url!.hostname))),
      name,
      "must use https:// (http:// only on a loopback host)",
    );
    check(
      !http || !server || settings.allowInsecureRequests,
      name,
      "is an http:// URL: set `allowInsecureRequests: true` to allow it on localhost",
    );
  }
  for (const [key, value] of Object.entries(settings.extraAuthParams as object)) {
    const name = `extraAuthParams.${key}`;
    check(
      ![
        "client_id",
        "redirect_uri",
        "response_type",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
      ].includes(key),
      name,
      "is set by the client and cannot be overridden",
      value,
    );
    check(typeof value === "string", name, "must be a string", value);
  }
  // Copies: the app may change its own array and object later.
  settings.scopes = [...(settings.scopes as string[])];
  settings.extraAuthParams = { ...(settings.extraAuthParams as object) };
  return settings as unknown as AuthSettings;
}
