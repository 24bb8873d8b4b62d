import { LenraAuthError } from "./errors.ts";
import type { Log } from "./logger.ts";
import { createStore, type ReadableStore, until } from "./store.ts";

// What every client has of login, with or without `@lenra/client/login`: the state, the
// actions' types, and the guest auth of a client without a login. The login itself (the shell
// loaded with the page, the session and the OAuth flows loaded on demand) lives in `auth/` and is
// imported only by apps that log in, so a guest-only app ships none of it.

/** Where the login stands; see {@link AuthState.status}. */
export type AuthStatus = "loading" | "guest" | "authenticated" | "error";

/** Who is logged in. `sub` and `claims` come from the ID token, so only with the `openid` scope. */
export interface LenraUser {
  /** The user's id (the ID token's `sub` claim). */
  readonly sub: string | undefined;
  readonly claims: Readonly<Record<string, unknown>>;
  /** The scopes the authorization server granted. */
  readonly scopes: readonly string[];
}

/** What `client.auth.getSnapshot()` returns. */
export interface AuthState {
  /**
   * `loading` until stored tokens or a login callback are dealt with, then `guest` or
   * `authenticated`; `error` after a failed login or when the server refuses the session.
   * Always `guest` for a client created without a `login`.
   */
  readonly status: AuthStatus;
  readonly user: LenraUser | undefined;
  /** What went wrong last: a failed login, an expired session, a refused token. */
  readonly error: LenraAuthError | undefined;
}

/** The options of one `auth.login()`. */
export interface LoginOptions {
  /**
   * Any JSON value, handed back by `handleRedirectCallback` after a redirect login.
   *
   * @example `appState: { tab: "todos" }`
   */
  appState?: unknown;
  /**
   * Where the address bar goes after a redirect login. Defaults to the page where `login()` was
   * called.
   *
   * @example `returnTo: "/account"`
   */
  returnTo?: string;
  /**
   * Overrides the login's `loginMode` for this login.
   *
   * @example `mode: "popup"`
   */
  mode?: "redirect" | "popup";
  /**
   * Whether the authorization server asks the person again: `login` asks for their credentials
   * even with a session, `select_account` lets them pick or enter another account (to switch
   * user), `none` never shows a page and fails with `login_required` when they must act.
   * Defaults to the server's choice (a session signs straight back in).
   *
   * @example `prompt: "select_account"`
   * @see https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest (`prompt`)
   */
  prompt?: "login" | "select_account" | "none";
  /**
   * The account the login page starts from (a user name or an email), sent as `login_hint`.
   *
   * @example `loginHint: "ada@example.com"`
   * @see https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest (`login_hint`)
   */
  loginHint?: string;
  /**
   * Extra authorization request parameters for this login.
   *
   * @example `extraAuthParams: { prompt: "login" }`
   * @see https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest
   */
  extraAuthParams?: Readonly<Record<string, string>>;
  /**
   * Opens the authorization URL instead of `window.location.assign` (redirect mode), e.g. in a
   * native shell or a test. The login then completes with `handleRedirectCallback(url)`.
   *
   * @example `openUrl: (url) => Browser.open({ url })`
   */
  openUrl?: (url: string) => void | Promise<void>;
}

/** The options of `auth.logout()`. */
export interface LogoutOptions {
  /**
   * Also end the authorization server's session (navigates to its end-session endpoint).
   * Defaults to `false`.
   *
   * @example `endSession: true`
   * @see https://openid.net/specs/openid-connect-rpinitiated-1_0.html
   */
  endSession?: boolean;
  /**
   * Overrides the login's `postLogoutRedirectUri`.
   *
   * @example `postLogoutRedirectUri: "https://app.example/goodbye"`
   */
  postLogoutRedirectUri?: string;
  /**
   * Overrides the login's `afterLogout`.
   *
   * @example `afterLogout: "disconnect"`
   */
  afterLogout?: "guest" | "disconnect";
  /**
   * Opens the end-session URL instead of `window.location.assign`.
   *
   * @example `openUrl: (url) => Browser.open({ url })`
   */
  openUrl?: (url: string) => void | Promise<void>;
}

/** What `handleRedirectCallback` resolves with. */
export interface RedirectCallbackResult {
  /** The `appState` given to `login()`. */
  readonly appState: unknown;
}

/** Login state and actions: `client.auth`, a store of {@link AuthState}. */
export interface LenraAuth extends ReadableStore<AuthState> {
  /**
   * Starts a login. In redirect mode the page navigates away; in popup mode the promise
   * resolves once logged in. Call it from the click handler itself: popups need the gesture.
   * Rejects with a `LENRA_LOGIN_NOT_CONFIGURED` error on a client created without a `login`.
   *
   * @example
   * ```ts
   * loginButton.onclick = () => lenra.auth.login({ mode: "popup" }).catch(showError);
   * ```
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1 (authorization request)
   */
  login(options?: LoginOptions): Promise<void>;
  /**
   * Completes a redirect login from the callback URL (defaults to the current page's URL). The
   * client does it by itself when the page loads at the callback, unless the login says
   * `handleRedirectCallback: false`.
   *
   * @example
   * ```ts
   * const { appState } = await lenra.auth.handleRedirectCallback();
   * ```
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2 (authorization response)
   */
  handleRedirectCallback(url?: string): Promise<RedirectCallbackResult>;
  /**
   * Whether `url` (defaults to the current page's URL) is a login callback for this client.
   *
   * @example
   * ```ts
   * if (!lenra.auth.isRedirectCallback()) renderApp();
   * ```
   */
  isRedirectCallback(url?: string): boolean;
  /**
   * Revokes the tokens, forgets them even if revocation fails, and goes back to guest.
   *
   * @example
   * ```ts
   * logoutButton.onclick = () => lenra.auth.logout({ endSession: true });
   * ```
   * @see https://www.rfc-editor.org/rfc/rfc7009 (token revocation)
   */
  logout(options?: LogoutOptions): Promise<void>;
  /**
   * A valid access token, refreshed first when close to expiry; `undefined` for a guest.
   *
   * @example
   * ```ts
   * const token = await lenra.auth.getAccessToken();
   * await fetch("/api/me", { headers: token ? { authorization: `Bearer ${token}` } : {} });
   * ```
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-6 (refreshing an access token)
   */
  getAccessToken(): Promise<string | undefined>;
}

/** What the client gives the login. */
export interface AuthHost {
  log: Log;
  fetch: typeof fetch | undefined;
  /** Aborted when the client is disposed: every event listener is registered with it. */
  signal: AbortSignal;
  /** Throws once the client is disposed. */
  assertAlive(): void;
  /** The identity behind the socket changed: reconnect (or disconnect) and refresh the views. */
  onIdentityChange(change: { clearData: boolean; disconnect: boolean }): void;
}

/** The login as the client sees it. */
export interface AuthController extends LenraAuth {
  /** The token for the next socket connection (waits for the startup checks). */
  socketToken(): Promise<string | undefined>;
  /** The socket server refused our token: try one refresh; true when a new token is ready. */
  onTokenRejected(): Promise<boolean>;
  /** The socket server kept refusing the token. */
  markUnauthorized(): void;
}

/**
 * A login for `createLenraClient({ login })`, made by `lenraLogin(options)` from
 * `@lenra/client/login`.
 */
export interface LenraLogin {
  /** Creates the client's login. @internal */
  readonly createAuth: (host: AuthHost) => AuthController;
}

export const GUEST: AuthState = Object.freeze({
  status: "guest",
  user: undefined,
  error: undefined,
});

/** The auth of a client without a login: always a guest, and `login()` says how to add one. */
export function createGuestAuth(host: AuthHost): AuthController {
  // Every action fails once the client is disposed; a guest has no token.
  const guest = async () => void host.assertAlive();
  const noLogin = async (): Promise<never> => {
    host.assertAlive();
    throw new LenraAuthError({
      code: "LENRA_LOGIN_NOT_CONFIGURED",
      message:
        'No login: create the client with `login: lenraLogin({ clientId, ... })`, imported from "@lenra/client/login" (or "@lenra/react/login", "@lenra/vue/login").',
    });
  };
  const { subscribe, getSnapshot } = createStore(GUEST);
  return {
    subscribe,
    getSnapshot,
    login: noLogin,
    handleRedirectCallback: noLogin,
    isRedirectCallback: () => false,
    logout: guest,
    getAccessToken: guest,
    socketToken: guest,
    onTokenRejected: async () => false,
    markUnauthorized() {},
  };
}

/**
 * Resolves once the login state is known (not `loading`): stored tokens checked, a login
 * callback handled. For route guards and loaders.
 *
 * @example
 * ```ts
 * router.beforeEach(async () => (await whenAuthReady(lenra.auth)).status === "authenticated");
 * ```
 */
export function whenAuthReady(auth: ReadableStore<AuthState>): Promise<AuthState> {
  return until(auth, (state) => state.status !== "loading");
}
