import { LenraArgumentError, wrongArgument } from "../errors.ts";

/**
 * Where the token set is kept: `memory` (the default) keeps it out of any storage; see
 * {@link LenraLoginOptions.storage}.
 */
export type TokenStorageOption = "memory" | "session" | "local" | TokenStorage;

/**
 * A custom token storage: any `Storage`-like object. It receives one JSON string holding the
 * token set; encrypt or scope it as your platform needs. Its methods are called synchronously.
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
   * Where the authorization server sends the browser back. It must be registered for the
   * client. Defaults to `<page origin>/redirect.html`, read when login starts.
   *
   * @example `redirectUri: "https://app.example/redirect.html"`
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.1.2
   */
  redirectUri?: string;
  /**
   * The scopes to ask for. Defaults to `["app:websocket"]`. Add `offline_access` for refresh
   * tokens and `openid` for the user's id (`auth.getSnapshot().user.sub`).
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
   * Where tokens are kept: `memory` (default: lost on reload, never readable by other scripts
   * through storage), `session` (this tab), `local` (every tab of the origin, kept in sync), or
   * your own {@link TokenStorage}.
   *
   * @example `storage: "local"`
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
   * registration).
   *
   * @example `postLogoutRedirectUri: "https://app.example/"`
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

/** The endpoints an option may set; unset ones derive from `baseUri`. */
export const ENDPOINTS = [
  "authorizationEndpoint",
  "tokenEndpoint",
  "revocationEndpoint",
  "endSessionEndpoint",
] as const;

/** The login options, checked and with their defaults. */
export interface AuthSettings {
  clientId: string;
  /** `issuer` when the endpoints are discovered, else `baseUri` without trailing slashes. */
  issuer: string;
  discover: boolean;
  /** The endpoints given as options, checked. */
  endpoints: Partial<Record<(typeof ENDPOINTS)[number], string>>;
  redirectUri: string | undefined;
  scopes: readonly string[];
  scopeDelimiter: string;
  extraAuthParams: Readonly<Record<string, string>>;
  loginMode: "redirect" | "popup";
  popupFallbackToRedirect: boolean;
  popupTimeoutMs: number;
  storage: TokenStorageOption;
  allowInsecureRequests: boolean;
  handleRedirectCallback: boolean;
  afterLogout: "guest" | "disconnect";
  postLogoutRedirectUri: string | undefined;
  fetch: typeof fetch | undefined;
}

export const DEFAULT_AUTH_BASE_URI = "http://localhost:4444";

/** Checks the login options; a wrong one throws a {@link LenraArgumentError} naming it. */
export function readAuthOptions(options: LenraLoginOptions): AuthSettings {
  if (typeof options !== "object" || options === null) {
    throw new LenraArgumentError({
      message: "lenraLogin(options): options must be an object with at least a `clientId`.",
    });
  }
  const given = options as unknown as Record<string, unknown>;
  const check = (ok: unknown, name: string, expected: string, value = given[name]) => {
    if (!ok) throw wrongArgument("lenraLogin", name, expected, value);
  };
  // An option out of `values`, or its default, the first one.
  const oneOf = <T>(name: string, values: readonly T[]): T => {
    const value = (given[name] ?? values[0]) as T;
    check(
      values.includes(value),
      name,
      `must be ${values.map((v) => JSON.stringify(v)).join(" or ")}`,
      value,
    );
    return value;
  };
  const {
    clientId,
    baseUri,
    issuer,
    scopes = ["app:websocket"],
    scopeDelimiter = " ",
    extraAuthParams = {},
    storage = "memory",
    popupTimeoutMs = 300_000,
  } = options;
  check(typeof clientId === "string" && clientId.trim(), "clientId", "must be a non-empty string");
  const insecure =
    options.allowInsecureRequests ??
    [baseUri, issuer, ...ENDPOINTS.map((name) => options[name])].every((v) => v === undefined);
  check(typeof insecure === "boolean", "allowInsecureRequests", "must be a boolean");
  const url = (name: string, value: unknown, allowHttp = insecure): string => {
    let parsed: URL | undefined;
    try {
      parsed = new URL(value as string);
    } catch {}
    const http = parsed?.protocol === "http:";
    check(
      typeof value === "string" && (http || parsed?.protocol === "https:"),
      name,
      "must be an absolute http(s) URL",
      value,
    );
    check(
      !http || ["localhost", "127.0.0.1", "[::1]"].includes(parsed!.hostname),
      name,
      "must use https:// (http:// only on a loopback host)",
      value,
    );
    check(
      !http || allowHttp,
      name,
      "is an http:// URL: set `allowInsecureRequests: true` to allow it on localhost",
      value,
    );
    return value as string;
  };
  // An option left out stays so; http:// is fine for the app's pages (on a loopback host).
  const optionalUrl = (name: string, allowHttp = insecure) =>
    given[name] === undefined ? undefined : url(name, given[name], allowHttp);
  if (issuer !== undefined && baseUri !== undefined) {
    throw new LenraArgumentError({
      message: "lenraLogin: give either `issuer` or `baseUri`, not both.",
    });
  }
  const endpoints: AuthSettings["endpoints"] = {};
  for (const name of ENDPOINTS) endpoints[name] = optionalUrl(name);
  check(
    Array.isArray(scopes) &&
      scopes.length > 0 &&
      scopes.every((s) => typeof s === "string" && /^\S+$/.test(s)),
    "scopes",
    "must be a non-empty array of scope names without spaces",
    scopes,
  );
  check(
    typeof scopeDelimiter === "string" && scopeDelimiter,
    "scopeDelimiter",
    "must be a non-empty string",
    scopeDelimiter,
  );
  check(
    typeof extraAuthParams === "object" && extraAuthParams,
    "extraAuthParams",
    "must be an object of strings",
    extraAuthParams,
  );
  for (const [key, value] of Object.entries(extraAuthParams)) {
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
  check(
    ["memory", "session", "local"].includes(storage as string) ||
      ["getItem", "setItem", "removeItem"].every(
        (method) => typeof (storage as unknown as Record<string, unknown>)?.[method] === "function",
      ),
    "storage",
    'must be "memory", "session", "local" or a Storage-like object',
    storage,
  );
  check(
    typeof popupTimeoutMs === "number" && popupTimeoutMs > 0,
    "popupTimeoutMs",
    "must be a positive number",
    popupTimeoutMs,
  );
  check(
    options.fetch === undefined || typeof options.fetch === "function",
    "fetch",
    "must be a function",
  );
  for (const name of ["popupFallbackToRedirect", "handleRedirectCallback"]) {
    check(given[name] === undefined || typeof given[name] === "boolean", name, "must be a boolean");
  }
  return {
    clientId,
    issuer:
      issuer === undefined
        ? url("baseUri", baseUri ?? DEFAULT_AUTH_BASE_URI).replace(/\/+$/, "")
        : url("issuer", issuer),
    discover: issuer !== undefined,
    endpoints,
    redirectUri: optionalUrl("redirectUri", true),
    scopes: [...scopes],
    scopeDelimiter,
    extraAuthParams: { ...extraAuthParams },
    loginMode: oneOf("loginMode", ["redirect", "popup"]),
    popupFallbackToRedirect: options.popupFallbackToRedirect ?? false,
    popupTimeoutMs,
    storage,
    allowInsecureRequests: insecure,
    handleRedirectCallback: options.handleRedirectCallback ?? true,
    afterLogout: oneOf("afterLogout", ["guest", "disconnect"]),
    postLogoutRedirectUri: optionalUrl("postLogoutRedirectUri", true),
    fetch: options.fetch,
  };
}
