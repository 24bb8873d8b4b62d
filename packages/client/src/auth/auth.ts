import {
  type AuthController,
  type AuthHost,
  type AuthState,
  GUEST,
  type LenraLogin,
  type LenraUser,
  type LoginOptions,
  type LogoutOptions,
  type RedirectCallbackResult,
} from "../auth-state.ts";
import { LenraAuthError, LenraErrorCode } from "../errors.ts";
import { createStore } from "../store.ts";
import type { AuthorizationServer, FlowContext, LoginTransaction } from "./flows.ts";
import { type AuthSettings, type LenraLoginOptions, readAuthOptions } from "./options.ts";
import { openPopup, waitForPopupCallback } from "./popup.ts";
import { parseTokenSet, type TokenSet, TokenStore } from "./token-store.ts";
import { TransactionStore } from "./transactions.ts";

type Flows = typeof import("./flows.ts");

const LOADING: AuthState = Object.freeze({ status: "loading", user: undefined, error: undefined });
/** A login transaction older than this is refused. */
const TRANSACTION_TTL_MS = 10 * 60 * 1000;
/**
 * A refresh ahead of expiry that failed without ending the session is tried again halfway to
 * expiry, at most this long after...
 */
const REFRESH_RETRY_MAX_MS = 30_000;
/** ...and not when expiry is this close: the next token request refreshes then. */
const REFRESH_RETRY_MIN_MS = 200;
const CALLBACK_PARAMS = [
  "code",
  "state",
  "error",
  "error_description",
  "error_uri",
  "iss",
  "session_state",
];

function isBrowser(): boolean {
  return typeof window !== "undefined" && typeof window.location !== "undefined";
}

/** How long before expiry a token is refreshed: a quarter of its lifetime, 1 s to 60 s. */
function refreshLeeway(tokens: TokenSet): number {
  if (tokens.expiresAt === undefined) return 0;
  const lifetime = tokens.expiresAt - tokens.issuedAt;
  return Math.min(60_000, Math.max(1_000, lifetime / 4));
}

function userOf(tokens: TokenSet): LenraUser {
  const claims = tokens.claims ?? {};
  return {
    sub: typeof claims.sub === "string" ? claims.sub : undefined,
    claims,
    scopes: tokens.scopes,
  };
}

/**
 * The login of a client, for `createLenraClient({ login })`: OAuth 2.0 authorization code with
 * PKCE (S256), in redirect or popup mode, with refresh-token rotation and revocation on logout.
 * Wrong options throw a `TypeError` naming the option, here rather than at the first login.
 *
 * ```ts
 * import { createLenraClient } from "@lenra/client";
 * import { lenraLogin } from "@lenra/client/login";
 *
 * const lenra = createLenraClient({
 *   appName: "my-app",
 *   login: lenraLogin({ clientId: "my-client-id", baseUri: "https://auth.my-lenra.example" }),
 * });
 * ```
 *
 * @see https://www.rfc-editor.org/rfc/rfc7636 (PKCE)
 */
export function lenraLogin(options: LenraLoginOptions): LenraLogin {
  const settings = readAuthOptions(options);
  return { createAuth: (host) => new Auth(settings, host) };
}

/**
 * The login layer: keeps the token set, refreshes it ahead of expiry (single flight, across
 * tabs with shared storage), and runs the OAuth steps from the lazily loaded flows module.
 */
export class Auth implements AuthController {
  readonly subscribe: (listener: () => void) => () => void;
  readonly getSnapshot: () => AuthState;

  readonly #settings: AuthSettings;
  readonly #host: AuthHost;
  readonly #store = createStore<AuthState>(LOADING, {
    onFirstSubscribe: () => void this.#initialize(),
  });
  readonly #tokens: TokenStore;
  readonly #transactions: TransactionStore;
  readonly #flowContext: FlowContext;
  #current: TokenSet | undefined;
  #initialized: Promise<void> | undefined;
  #flows: Promise<Flows> | undefined;
  #server: Promise<AuthorizationServer> | undefined;
  #refreshing: Promise<TokenSet | undefined> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #callbacks = new Map<string, Promise<RedirectCallbackResult>>();
  #popupLogin: { popup: Window; promise: Promise<void> } | undefined;

  constructor(settings: AuthSettings, host: AuthHost) {
    this.#settings = settings;
    this.#host = host;
    this.#tokens = new TokenStore(settings.clientId, settings.storage);
    this.#transactions = new TransactionStore(settings.clientId, TRANSACTION_TTL_MS);
    this.#flowContext = { settings, fetch: settings.fetch ?? host.fetch };
    this.subscribe = this.#store.subscribe;
    this.getSnapshot = this.#store.getSnapshot;
  }

  isRedirectCallback(url?: string): boolean {
    const href = url ?? (isBrowser() ? window.location.href : undefined);
    if (!href) return false;
    let parsed: URL;
    let expected: URL;
    try {
      parsed = new URL(href);
      expected = new URL(this.#redirectUri());
    } catch {
      return false;
    }
    const params = parsed.searchParams;
    return (
      parsed.origin === expected.origin &&
      parsed.pathname === expected.pathname &&
      params.has("state") &&
      (params.has("code") || params.has("error"))
    );
  }

  async tokenForConnection(): Promise<string | undefined> {
    await this.#initialize();
    return this.getAccessToken();
  }

  async getAccessToken(): Promise<string | undefined> {
    this.#host.assertAlive();
    this.#syncFromSharedStorage();
    const tokens = this.#current;
    if (!tokens) return undefined;
    if (this.#isFresh(tokens)) return tokens.accessToken;
    if (tokens.refreshToken) return (await this.#refresh())?.accessToken;
    this.#expire();
    return undefined;
  }

  login(options: LoginOptions = {}): Promise<void> {
    try {
      this.#host.assertAlive();
    } catch (error) {
      return Promise.reject(error);
    }
    const mode = options.mode ?? this.#settings.loginMode;
    if (mode === "popup") {
      if (this.#popupLogin && !this.#popupLogin.popup.closed) {
        this.#popupLogin.popup.focus();
        return this.#popupLogin.promise;
      }
      if (!isBrowser()) return Promise.reject(new TypeError("Popup login needs a browser window."));
      // Opened before anything is awaited, while the click's user activation still holds.
      const popup = openPopup();
      if (!popup) {
        if (this.#settings.popupFallbackToRedirect) return this.#redirectLogin(options);
        return Promise.reject(
          this.#loginFailed(
            new LenraAuthError(
              LenraErrorCode.PopupBlocked,
              "The browser blocked the login popup: call login() directly from a click handler, or set `popupFallbackToRedirect: true` in lenraLogin().",
            ),
          ),
        );
      }
      const promise = this.#popupFlow(popup, options)
        .catch((error: unknown) => {
          throw this.#loginFailed(error);
        })
        .finally(() => {
          if (this.#popupLogin?.popup === popup) this.#popupLogin = undefined;
        });
      this.#popupLogin = { popup, promise };
      return promise;
    }
    return this.#redirectLogin(options);
  }

  /**
   * A popup login failed: the state says so, as after a failed redirect login, unless a session
   * is still there (a second login that failed leaves it as it was).
   */
  #loginFailed(error: unknown): unknown {
    const current = this.#store.getSnapshot();
    if (error instanceof LenraAuthError && current.status !== "authenticated") {
      this.#store.set({ status: "error", user: current.user, error });
    }
    return error;
  }

  handleRedirectCallback(url?: string): Promise<RedirectCallbackResult> {
    const href = url ?? (isBrowser() ? window.location.href : undefined);
    try {
      this.#host.assertAlive();
      if (!href) {
        throw new TypeError(
          "handleRedirectCallback(url): pass the callback URL outside a browser.",
        );
      }
    } catch (error) {
      return Promise.reject(error);
    }
    // React StrictMode runs effects twice: the same URL redeems its code once.
    let result = this.#callbacks.get(href);
    if (!result) {
      result = this.#completeRedirect(href);
      this.#callbacks.set(href, result);
    }
    return result;
  }

  async logout(options: LogoutOptions = {}): Promise<void> {
    this.#host.assertAlive();
    await this.#initialize();
    const tokens = this.#current;
    const afterLogout = options.afterLogout ?? this.#settings.afterLogout;
    // Forget first: whatever revocation does, this client no longer holds the session.
    this.#setTokens(undefined);
    this.#store.set(GUEST);
    this.#host.onIdentityChange({ clearData: true, disconnect: afterLogout === "disconnect" });
    if (!tokens) return;
    const flows = await this.#loadFlows();
    let server: AuthorizationServer | undefined;
    try {
      server = await this.#authorizationServer();
      const revocations: Promise<void>[] = [];
      if (tokens.refreshToken) {
        revocations.push(
          flows.revokeToken(this.#flowContext, server, tokens.refreshToken, "refresh_token"),
        );
      }
      revocations.push(
        flows.revokeToken(this.#flowContext, server, tokens.accessToken, "access_token"),
      );
      const results = await Promise.allSettled(revocations);
      if (results.some((r) => r.status === "rejected")) {
        this.#host.log.warn("Token revocation failed; the tokens were forgotten anyway");
      }
    } catch {
      this.#host.log.warn("Token revocation failed; the tokens were forgotten anyway");
    }
    if (options.endSession && server) {
      const url = flows.endSessionUrl(
        this.#flowContext,
        server,
        tokens.idToken,
        options.postLogoutRedirectUri ?? this.#settings.postLogoutRedirectUri,
      );
      if (url) await (options.openUrl ?? ((u: string) => window.location.assign(u)))(url);
    }
  }

  async onTokenRejected(): Promise<boolean> {
    const tokens = this.#current;
    if (!tokens?.refreshToken) return false;
    try {
      const next = await this.#refresh(true);
      return next !== undefined && next.accessToken !== tokens.accessToken;
    } catch {
      return false;
    }
  }

  dispose(): void {
    clearTimeout(this.#timer);
  }

  markUnauthorized(): void {
    const error = new LenraAuthError(
      LenraErrorCode.Unauthorized,
      "The server refused the session's access token. Log in again.",
    );
    this.#store.set({
      status: "error",
      user: this.#current ? userOf(this.#current) : undefined,
      error,
    });
  }

  #initialize(): Promise<void> {
    this.#initialized ??= this.#doInitialize();
    return this.#initialized;
  }

  async #doInitialize(): Promise<void> {
    if (this.#host.signal.aborted) return;
    this.#listenToOtherTabs();
    if (this.#settings.handleRedirectCallback && this.isRedirectCallback()) {
      try {
        await this.handleRedirectCallback();
      } catch {
        // The state already holds the error.
      }
      return;
    }
    let stored: TokenSet | undefined;
    try {
      stored = this.#tokens.read();
    } catch {
      this.#host.log.warn("The token storage could not be read; starting as a guest");
    }
    if (!stored) {
      if (this.#store.getSnapshot().status === "loading") this.#store.set(GUEST);
      return;
    }
    this.#current = stored;
    if (!this.#isFresh(stored) && !stored.refreshToken) {
      this.#expire();
      return;
    }
    this.#authenticated(stored);
    if (!this.#isFresh(stored)) {
      try {
        await this.#refresh();
      } catch {
        // Kept: a network failure is retried when the socket asks for the token again.
      }
    }
  }

  #redirectUri(): string {
    if (this.#settings.redirectUri) return this.#settings.redirectUri;
    if (!isBrowser())
      throw new TypeError(
        "Set `redirectUri` in lenraLogin(): there is no page origin to derive it from.",
      );
    return `${window.location.origin}/redirect.html`;
  }

  async #redirectLogin(options: LoginOptions): Promise<void> {
    const flows = await this.#loadFlows();
    const server = await this.#authorizationServer();
    // Back where the login started, unless told otherwise.
    const returnTo =
      options.returnTo ??
      (isBrowser() && !options.openUrl
        ? window.location.pathname + window.location.search + window.location.hash
        : undefined);
    const transaction = flows.createTransaction(this.#redirectUri(), options.appState, returnTo);
    const url = await flows.authorizationUrl(
      this.#flowContext,
      server,
      transaction,
      options.extraAuthParams,
    );
    // The page unloads, so the transaction must outlive it; a custom opener keeps the page alive.
    this.#transactions.save(transaction, options.openUrl ? "memory" : "session");
    await (options.openUrl ?? ((u: string) => window.location.assign(u)))(url);
  }

  async #popupFlow(popup: Window, options: LoginOptions): Promise<void> {
    let transaction: LoginTransaction;
    try {
      const flows = await this.#loadFlows();
      const server = await this.#authorizationServer();
      transaction = flows.createTransaction(this.#redirectUri(), options.appState, undefined);
      popup.location.href = await flows.authorizationUrl(
        this.#flowContext,
        server,
        transaction,
        options.extraAuthParams,
      );
    } catch (error) {
      popup.close();
      throw error;
    }
    const callbackUrl = await waitForPopupCallback(
      popup,
      transaction.redirectUri,
      this.#settings.popupTimeoutMs,
      this.#host.signal,
    );
    await this.#redeem(callbackUrl, transaction);
  }

  async #completeRedirect(href: string): Promise<RedirectCallbackResult> {
    const previous = this.#store.getSnapshot();
    this.#store.set(LOADING);
    let transaction: LoginTransaction | undefined;
    try {
      const url = new URL(href);
      const expected = new URL(this.#redirectUri());
      if (url.origin !== expected.origin || url.pathname !== expected.pathname) {
        throw new LenraAuthError(
          LenraErrorCode.AuthCallbackInvalid,
          "This page is not the registered redirect URI: the login callback was refused.",
        );
      }
      const state = url.searchParams.get("state");
      // Single use: taken out before anything else, so a replay finds nothing.
      transaction = state ? this.#transactions.take(state) : undefined;
      if (!transaction) {
        throw new LenraAuthError(
          LenraErrorCode.AuthCallbackInvalid,
          "This login callback matches no login started here (unknown, expired or already used): start the login again.",
        );
      }
      await this.#redeem(url, transaction);
    } catch (error) {
      const authError =
        error instanceof LenraAuthError
          ? error
          : new LenraAuthError(
              LenraErrorCode.AuthCallbackInvalid,
              "The login callback could not be handled.",
            );
      this.#store.set({ status: "error", user: previous.user, error: authError });
      // A refused or failed login still goes back to the page it started from, when known.
      this.#cleanAddressBar(href, transaction?.returnTo);
      throw authError;
    }
    this.#cleanAddressBar(href, transaction.returnTo);
    return { appState: transaction.appState };
  }

  async #redeem(url: URL, transaction: LoginTransaction): Promise<void> {
    const flows = await this.#loadFlows();
    const server = await this.#authorizationServer();
    const previousUser = this.#current ? userOf(this.#current).sub : undefined;
    const tokens = await flows.redeemCallback(this.#flowContext, server, url, transaction);
    this.#setTokens(tokens);
    this.#authenticated(tokens);
    this.#host.onIdentityChange({
      clearData: previousUser !== undefined && previousUser !== userOf(tokens).sub,
      disconnect: false,
    });
  }

  /** Removes the code and state from the address bar once they are used. */
  #cleanAddressBar(href: string, returnTo: string | undefined) {
    if (!isBrowser() || window.location.href !== href) return;
    const url = new URL(href);
    for (const name of CALLBACK_PARAMS) url.searchParams.delete(name);
    window.history.replaceState(window.history.state, "", returnTo ?? url.href);
  }

  /** Single flight: concurrent callers share one refresh request. */
  #refresh(force = false): Promise<TokenSet | undefined> {
    this.#refreshing ??= this.#doRefresh(force).finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #doRefresh(force: boolean): Promise<TokenSet | undefined> {
    const run = async () => {
      // Another tab may have rotated the refresh token while we waited for the lock.
      this.#syncFromSharedStorage();
      const tokens = this.#current;
      if (!tokens?.refreshToken) return tokens;
      if (!force && this.#isFresh(tokens)) return tokens;
      const flows = await this.#loadFlows();
      const server = await this.#authorizationServer();
      try {
        const next = await flows.refreshTokens(this.#flowContext, server, tokens.refreshToken);
        this.#setTokens(next);
        this.#authenticated(next);
        return next;
      } catch (error) {
        if (error instanceof LenraAuthError && error.code === LenraErrorCode.SessionExpired) {
          this.#host.log.warn("The refresh token was refused; the session ended");
          this.#endSession(error);
          return undefined;
        }
        throw error;
      }
    };
    const shared = this.#tokens.sharedStorage;
    const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
    // With storage shared by tabs, a refresh token may be used by one tab only at a time.
    if (shared && locks) return locks.request(`${this.#tokens.key}:refresh`, run);
    return run();
  }

  #isFresh(tokens: TokenSet): boolean {
    return tokens.expiresAt === undefined || tokens.expiresAt - Date.now() > refreshLeeway(tokens);
  }

  /** The access token expired and there is no refresh token: back to guest, cleanly. */
  #expire() {
    this.#endSession(
      new LenraAuthError(
        LenraErrorCode.SessionExpired,
        "The session expired. Log in again to continue.",
      ),
    );
  }

  #endSession(error: LenraAuthError) {
    const hadTokens = this.#current !== undefined;
    this.#setTokens(undefined);
    this.#store.set({ status: "guest", user: undefined, error });
    if (hadTokens) this.#host.onIdentityChange({ clearData: true, disconnect: false });
  }

  #authenticated(tokens: TokenSet) {
    const previous = this.#store.getSnapshot();
    const user = userOf(tokens);
    const sameUser =
      previous.status === "authenticated" &&
      previous.user?.sub === user.sub &&
      previous.user?.scopes.join(" ") === user.scopes.join(" ");
    if (!sameUser || previous.error)
      this.#store.set({ status: "authenticated", user, error: undefined });
    this.#schedule(tokens);
  }

  #setTokens(tokens: TokenSet | undefined) {
    this.#current = tokens;
    if (!tokens) clearTimeout(this.#timer);
    try {
      this.#tokens.write(tokens);
    } catch {
      this.#host.log.warn("The token storage could not be written; the session stays in memory");
    }
  }

  /**
   * Refreshes ahead of expiry, or ends the session at expiry when there is no refresh token.
   * `retryAt` overrides when, for a retry.
   */
  #schedule(tokens: TokenSet, retryAt?: number) {
    clearTimeout(this.#timer);
    // A refresh that was under way when the client was disposed schedules nothing more.
    if (tokens.expiresAt === undefined || this.#host.signal.aborted) return;
    const at =
      retryAt ??
      (tokens.refreshToken ? tokens.expiresAt - refreshLeeway(tokens) : tokens.expiresAt);
    // setTimeout overflows past 2^31 - 1 ms.
    const delay = Math.min(Math.max(0, at - Date.now()), 2 ** 31 - 1);
    this.#timer = setTimeout(() => {
      if (this.#current !== tokens) return;
      if (!tokens.refreshToken) {
        this.#expire();
        return;
      }
      this.#refresh().then(
        // The timer runs on a clock of its own and may fire just before Date.now() reaches `at`;
        // the token then still looks fresh and nothing was refreshed: try again.
        (next) => next === tokens && this.#schedule(tokens),
        () => {
          // A failure that did not end the session (the server busy or unreachable): try again
          // while the access token lasts, then when a token is needed.
          const wait = Math.min(REFRESH_RETRY_MAX_MS, ((tokens.expiresAt ?? 0) - Date.now()) / 2);
          const lasts = wait >= REFRESH_RETRY_MIN_MS;
          const retryAt = Date.now() + wait;
          this.#host.log.warn(
            `Refreshing the session ahead of expiry failed; retrying ${lasts ? `in ${Math.round(wait)} ms` : "when a token is needed"}`,
          );
          if (lasts && this.#current === tokens) this.#schedule(tokens, retryAt);
        },
      );
    }, delay);
  }

  #syncFromSharedStorage() {
    if (!this.#tokens.sharedStorage) return;
    const stored = this.#tokens.read();
    if (stored?.accessToken !== this.#current?.accessToken) this.#adopt(stored);
  }

  /** Takes over what another tab wrote (a rotated token set, or a logout). */
  #adopt(stored: TokenSet | undefined) {
    const previousSub = this.#current ? userOf(this.#current).sub : undefined;
    this.#current = stored;
    if (!stored) {
      clearTimeout(this.#timer);
      this.#store.set(GUEST);
      this.#host.onIdentityChange({ clearData: true, disconnect: false });
      return;
    }
    const wasGuest = this.#store.getSnapshot().status !== "authenticated";
    this.#authenticated(stored);
    if (wasGuest || previousSub !== userOf(stored).sub) {
      this.#host.onIdentityChange({ clearData: !wasGuest, disconnect: false });
    }
  }

  #listenToOtherTabs() {
    const shared = this.#tokens.sharedStorage;
    if (!shared || !isBrowser()) return;
    window.addEventListener(
      "storage",
      (event) => {
        if (event.key !== this.#tokens.key || event.storageArea !== shared) return;
        this.#adopt(parseTokenSet(event.newValue));
      },
      { signal: this.#host.signal },
    );
  }

  #loadFlows(): Promise<Flows> {
    this.#flows ??= import("./flows.ts");
    return this.#flows;
  }

  #authorizationServer(): Promise<AuthorizationServer> {
    this.#server ??= this.#loadFlows()
      .then((flows) => flows.discoverServer(this.#flowContext))
      .catch((error: unknown) => {
        // A failed discovery is tried again next time rather than remembered.
        this.#server = undefined;
        throw error;
      });
    return this.#server;
  }
}
