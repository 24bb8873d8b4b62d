/** Where the token set is kept. `memory` (the default) keeps it out of any storage. */
export type TokenStorageOption = "memory" | "session" | "local" | TokenStorage;

/**
 * A custom token storage: any `Storage`-like object. It receives one JSON string holding the
 * token set; encrypt or scope it as your platform needs.
 */
export interface TokenStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * How the OAuth 2.0 login works: the options of `lenraLogin()`. Every field but `clientId` has a
 * default for a local Lenra.
 */
export interface LenraLoginOptions {
  /** The OAuth 2.0 client id registered for the app (`lenra-dev` on `@lenra/devserver`). */
  clientId: string;
  /**
   * The authorization server's base URL; the Hydra paths are appended (`/oauth2/auth`,
   * `/oauth2/token`, `/oauth2/revoke`, `/oauth2/sessions/logout`).
   * Defaults to `http://localhost:4444`, the local development server.
   */
  baseUri?: string;
  /** Overrides the authorization endpoint derived from `baseUri`. */
  authorizationEndpoint?: string;
  /** Overrides the token endpoint derived from `baseUri`. */
  tokenEndpoint?: string;
  /** Overrides the revocation endpoint (RFC 7009) derived from `baseUri`. */
  revocationEndpoint?: string;
  /** Overrides the end-session (logout) endpoint derived from `baseUri`. */
  endSessionEndpoint?: string;
  /**
   * An issuer to discover every endpoint from (`/.well-known/openid-configuration`, then
   * `/.well-known/oauth-authorization-server`), instead of `baseUri`.
   */
  issuer?: string;
  /**
   * Where the authorization server sends the browser back. It must be registered for the
   * client. Defaults to `<page origin>/redirect.html`, read when login starts.
   */
  redirectUri?: string;
  /** The scopes to ask for. Defaults to `["app:websocket"]`. Add `offline_access` for refresh tokens. */
  scopes?: readonly string[];
  /** How scopes are joined in the request. Defaults to a space (RFC 6749 §3.3). */
  scopeDelimiter?: string;
  /** Extra authorization request parameters (e.g. `prompt`, `ui_locales`). Protocol parameters cannot be overridden. */
  extraAuthParams?: Readonly<Record<string, string>>;
  /**
   * `redirect` navigates the page to the login; `popup` opens it in a popup and keeps the page.
   * Defaults to `redirect`.
   */
  loginMode?: "redirect" | "popup";
  /** In popup mode, fall back to a redirect when the browser blocks the popup. Defaults to `false`. */
  popupFallbackToRedirect?: boolean;
  /** How long a popup login may take. Defaults to 300000 ms (5 minutes). */
  popupTimeoutMs?: number;
  /**
   * Where tokens are kept: `memory` (default: lost on reload, never readable by other scripts
   * through storage), `session` (this tab), `local` (every tab of the origin, kept in sync), or
   * your own {@link TokenStorage}.
   */
  storage?: TokenStorageOption;
  /**
   * Allows `http://` endpoints on a loopback host (localhost, 127.0.0.1, [::1]) — never
   * elsewhere. Defaults to `true` when every endpoint is the built-in development default,
   * `false` otherwise.
   */
  allowInsecureRequests?: boolean;
  /**
   * Handle the login callback on its own when the page loads at `redirectUri` with a code.
   * Defaults to `true`.
   */
  handleRedirectCallback?: boolean;
  /** What logout does with the socket: reconnect as a guest (default) or disconnect. */
  afterLogout?: "guest" | "disconnect";
  /** Where the end-session endpoint sends the browser after logout (needs `openid` and registration). */
  postLogoutRedirectUri?: string;
  /** The `fetch` of the OAuth requests. Defaults to the client's `fetch` option, then the global `fetch`. */
  fetch?: typeof fetch;
}

export const DEFAULT_AUTH_BASE_URI = "http://localhost:4444";
export const DEFAULT_SCOPES = ["app:websocket"] as const;

const RESERVED_AUTH_PARAMS = new Set([
  "client_id",
  "redirect_uri",
  "response_type",
  "scope",
  "state",
  "code_challenge",
  "code_challenge_method",
]);

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** The endpoints, either explicit or to discover from an issuer. */
export type AuthEndpoints =
  | {
      kind: "explicit";
      issuer: string;
      authorizationEndpoint: string;
      tokenEndpoint: string;
      revocationEndpoint: string;
      endSessionEndpoint: string;
    }
  | { kind: "discovery"; issuer: string };

export interface AuthSettings {
  clientId: string;
  endpoints: AuthEndpoints;
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

function fail(option: string, expectation: string, value: unknown): never {
  const shown = typeof value === "string" ? JSON.stringify(value) : typeof value;
  throw new TypeError(`lenraLogin: \`${option}\` ${expectation}, got ${shown}.`);
}

function checkUrl(option: string, value: unknown, allowInsecure: boolean): string {
  if (typeof value !== "string") fail(option, "must be an absolute http(s) URL string", value);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail(option, "must be an absolute http(s) URL", value);
  }
  if (url.protocol === "https:") return value;
  if (url.protocol !== "http:") fail(option, "must use https:// (or http:// on localhost)", value);
  if (!LOOPBACK_HOSTS.has(url.hostname)) {
    fail(option, "must use https:// — http:// is only allowed on a loopback host", value);
  }
  if (!allowInsecure) {
    fail(
      option,
      "is an http:// URL: set `allowInsecureRequests: true` to allow it on localhost",
      value,
    );
  }
  return value;
}

/** Validates the login options; wrong ones throw a `TypeError` naming the option. */
export function readAuthOptions(options: LenraLoginOptions): AuthSettings {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      'lenraLogin(options): options must be an object with at least a `clientId`, such as `lenraLogin({ clientId: "my-client-id" })`.',
    );
  }
  const { clientId } = options;
  if (typeof clientId !== "string" || clientId.trim() === "") {
    fail("clientId", "must be a non-empty string", clientId);
  }
  const explicitKeys = [
    "baseUri",
    "authorizationEndpoint",
    "tokenEndpoint",
    "revocationEndpoint",
    "endSessionEndpoint",
    "issuer",
  ] as const;
  const usesDefaults = explicitKeys.every((key) => options[key] === undefined);
  const allowInsecure = options.allowInsecureRequests ?? usesDefaults;
  if (typeof allowInsecure !== "boolean") {
    fail("allowInsecureRequests", "must be a boolean", allowInsecure);
  }

  let endpoints: AuthEndpoints;
  if (options.issuer !== undefined) {
    if (options.baseUri !== undefined) {
      throw new TypeError("lenraLogin: give either `issuer` or `baseUri`, not both.");
    }
    endpoints = {
      kind: "discovery",
      issuer: checkUrl("issuer", options.issuer, allowInsecure),
    };
  } else {
    const base = checkUrl(
      "baseUri",
      options.baseUri ?? DEFAULT_AUTH_BASE_URI,
      allowInsecure,
    ).replace(/\/+$/, "");
    const endpoint = (key: (typeof explicitKeys)[number], path: string) =>
      checkUrl(key, options[key] ?? `${base}${path}`, allowInsecure);
    endpoints = {
      kind: "explicit",
      issuer: base,
      authorizationEndpoint: endpoint("authorizationEndpoint", "/oauth2/auth"),
      tokenEndpoint: endpoint("tokenEndpoint", "/oauth2/token"),
      revocationEndpoint: endpoint("revocationEndpoint", "/oauth2/revoke"),
      endSessionEndpoint: endpoint("endSessionEndpoint", "/oauth2/sessions/logout"),
    };
  }

  const redirectUri =
    options.redirectUri === undefined
      ? undefined
      : checkUrl("redirectUri", options.redirectUri, true);
  const postLogoutRedirectUri =
    options.postLogoutRedirectUri === undefined
      ? undefined
      : checkUrl("postLogoutRedirectUri", options.postLogoutRedirectUri, true);

  const scopes = options.scopes ?? DEFAULT_SCOPES;
  if (
    !Array.isArray(scopes) ||
    scopes.length === 0 ||
    scopes.some((s) => typeof s !== "string" || s === "" || /\s/.test(s))
  ) {
    fail("scopes", "must be a non-empty array of scope names without spaces", scopes);
  }
  const scopeDelimiter = options.scopeDelimiter ?? " ";
  if (typeof scopeDelimiter !== "string" || scopeDelimiter === "") {
    fail("scopeDelimiter", "must be a non-empty string", scopeDelimiter);
  }
  const extraAuthParams = options.extraAuthParams ?? {};
  if (typeof extraAuthParams !== "object" || extraAuthParams === null) {
    fail("extraAuthParams", "must be an object of strings", extraAuthParams);
  }
  for (const [key, value] of Object.entries(extraAuthParams)) {
    if (RESERVED_AUTH_PARAMS.has(key)) {
      fail(`extraAuthParams.${key}`, "is set by the client and cannot be overridden", value);
    }
    if (typeof value !== "string") fail(`extraAuthParams.${key}`, "must be a string", value);
  }
  const loginMode = options.loginMode ?? "redirect";
  if (loginMode !== "redirect" && loginMode !== "popup") {
    fail("loginMode", 'must be "redirect" or "popup"', loginMode);
  }
  const storage = options.storage ?? "memory";
  if (
    storage !== "memory" &&
    storage !== "session" &&
    storage !== "local" &&
    !(
      typeof storage === "object" &&
      storage !== null &&
      typeof storage.getItem === "function" &&
      typeof storage.setItem === "function" &&
      typeof storage.removeItem === "function"
    )
  ) {
    fail("storage", 'must be "memory", "session", "local" or a Storage-like object', storage);
  }
  const afterLogout = options.afterLogout ?? "guest";
  if (afterLogout !== "guest" && afterLogout !== "disconnect") {
    fail("afterLogout", 'must be "guest" or "disconnect"', afterLogout);
  }
  const popupTimeoutMs = options.popupTimeoutMs ?? 300_000;
  if (typeof popupTimeoutMs !== "number" || !(popupTimeoutMs > 0)) {
    fail("popupTimeoutMs", "must be a positive number", popupTimeoutMs);
  }
  if (options.fetch !== undefined && typeof options.fetch !== "function") {
    fail("fetch", "must be a function", options.fetch);
  }
  for (const key of ["popupFallbackToRedirect", "handleRedirectCallback"] as const) {
    if (options[key] !== undefined && typeof options[key] !== "boolean")
      fail(key, "must be a boolean", options[key]);
  }

  return {
    clientId,
    endpoints,
    redirectUri,
    scopes: [...scopes],
    scopeDelimiter,
    extraAuthParams: { ...extraAuthParams },
    loginMode,
    popupFallbackToRedirect: options.popupFallbackToRedirect ?? false,
    popupTimeoutMs,
    storage,
    allowInsecureRequests: allowInsecure,
    handleRedirectCallback: options.handleRedirectCallback ?? true,
    afterLogout,
    postLogoutRedirectUri,
    fetch: options.fetch,
  };
}
