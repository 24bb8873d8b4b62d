import type {
  LenraUser,
  LoginOptions,
  LogoutOptions,
  RedirectCallbackResult,
} from "../auth-state.ts";
import type { LenraAuthError, LenraErrorCode } from "../errors.ts";
import type { AuthorizationServer, FlowContext, LoginTransaction } from "./flows.ts";
import type { LoginContext } from "./lenra-login.ts";
import { waitForPopupCallback } from "./popup.ts";
import { parseTokenSet, type TokenSet } from "./token-store.ts";
import { TransactionStore } from "./transactions.ts";

// Loaded on demand by `lenraLogin`'s login, from which it gets everything it needs at run time
// (see `LoginContext`); the OAuth flows (oauth4webapi) are one more chunk, loaded by the first
// request to the authorization server.

type Flows = typeof import("./flows.ts");

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

function isFresh(tokens: TokenSet): boolean {
  return tokens.expiresAt === undefined || tokens.expiresAt - Date.now() > refreshLeeway(tokens);
}

function open(url: string, openUrl: ((url: string) => void | Promise<void>) | undefined) {
  return (openUrl ?? ((u: string) => window.location.assign(u)))(url);
}

/**
 * The signed-in session: keeps the token set, refreshes it ahead of expiry (single flight,
 * across tabs with shared storage), and runs the OAuth steps from the lazily loaded flows.
 */
export class Session {
  readonly #context: LoginContext;
  readonly #settings: LoginContext["settings"];
  readonly #host: LoginContext["host"];
  readonly #store: LoginContext["store"];
  readonly #transactions: TransactionStore;
  readonly #flowContext: FlowContext;
  /** The token set when it is kept in memory (`storage: "memory"`). */
  #memory: TokenSet | undefined;
  #current: TokenSet | undefined;
  #flows: Promise<Flows> | undefined;
  #server: Promise<AuthorizationServer> | undefined;
  #refreshing: Promise<TokenSet | undefined> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #callbacks = new Map<string, Promise<RedirectCallbackResult>>();

  constructor(context: LoginContext) {
    const { settings, host, store } = context;
    this.#context = context;
    this.#settings = settings;
    this.#host = host;
    this.#store = store;
    this.#transactions = new TransactionStore(settings.clientId, TRANSACTION_TTL_MS);
    this.#flowContext = {
      settings,
      fetch: settings.fetch ?? host.fetch,
      AuthError: context.AuthError,
    };
    host.signal.addEventListener("abort", () => clearTimeout(this.#timer), { once: true });
  }

  /** Takes up the stored session at startup: refreshes it when needed, or ends it if expired. */
  async restore(): Promise<void> {
    let stored: TokenSet | undefined;
    try {
      stored = this.#read();
    } catch {
      this.#host.log.warn("The token storage could not be read; starting as a guest");
    }
    if (!stored) {
      if (this.#store.getSnapshot().status === "loading") this.#guest();
      return;
    }
    this.#current = stored;
    if (!isFresh(stored) && !stored.refreshToken) {
      this.#expire();
      return;
    }
    this.#authenticated(stored);
    if (!isFresh(stored)) {
      try {
        await this.#refresh();
      } catch {
        // Kept: a network failure is retried when the socket asks for the token again.
      }
    }
  }

  async getAccessToken(): Promise<string | undefined> {
    this.#host.assertAlive();
    this.sync();
    const tokens = this.#current;
    if (!tokens) return undefined;
    if (isFresh(tokens)) return tokens.accessToken;
    if (tokens.refreshToken) return (await this.#refresh())?.accessToken;
    this.#expire();
    return undefined;
  }

  async redirectLogin(options: LoginOptions): Promise<void> {
    const [flows, server] = await this.#authorizationServer();
    // Back where the login started, unless told otherwise.
    const returnTo =
      options.returnTo ??
      (this.#context.isBrowser() && !options.openUrl
        ? window.location.pathname + window.location.search + window.location.hash
        : undefined);
    const transaction = flows.createTransaction(
      this.#context.redirectUri(),
      options.appState,
      returnTo,
    );
    const url = await flows.authorizationUrl(
      this.#flowContext,
      server,
      transaction,
      options.extraAuthParams,
    );
    // The page unloads, so the transaction must outlive it; a custom opener keeps the page alive.
    this.#transactions.save(transaction, options.openUrl ? "memory" : "session");
    await open(url, options.openUrl);
  }

  /**
   * Runs a login in `popup`, opened by the login in the click handler (which closes it on
   * failure), or `null` when the browser blocked it.
   */
  async popupLogin(popup: Window | null, options: LoginOptions): Promise<void> {
    try {
      await this.#popupLogin(popup, options);
    } catch (error) {
      // The state says so, as after a failed redirect login, unless a session is still there
      // (a second login that failed leaves it as it was).
      const current = this.#store.getSnapshot();
      if (error instanceof this.#context.AuthError && current.status !== "authenticated") {
        this.#store.set({ status: "error", user: current.user, error });
      }
      throw error;
    }
  }

  async #popupLogin(popup: Window | null, options: LoginOptions): Promise<void> {
    if (!popup) {
      if (this.#settings.popupFallbackToRedirect) return this.redirectLogin(options);
      throw this.#error(
        "LENRA_POPUP_BLOCKED",
        "The login popup could not be opened: call login() directly from a click handler, in a browser, or set `popupFallbackToRedirect: true` in lenraLogin().",
      );
    }
    const [flows, server] = await this.#authorizationServer();
    const transaction = flows.createTransaction(
      this.#context.redirectUri(),
      options.appState,
      undefined,
    );
    popup.location.href = await flows.authorizationUrl(
      this.#flowContext,
      server,
      transaction,
      options.extraAuthParams,
    );
    const callbackUrl = await waitForPopupCallback(
      popup,
      transaction.redirectUri,
      this.#settings.popupTimeoutMs,
      this.#host.signal,
      this.#context.AuthError,
    );
    await this.#redeem(callbackUrl, transaction);
  }

  handleRedirectCallback(href: string): Promise<RedirectCallbackResult> {
    // React StrictMode runs effects twice: the same URL redeems its code once.
    let result = this.#callbacks.get(href);
    if (!result) {
      result = this.#completeRedirect(href);
      this.#callbacks.set(href, result);
    }
    return result;
  }

  async logout(options: LogoutOptions): Promise<void> {
    const tokens = this.#current;
    const afterLogout = options.afterLogout ?? this.#settings.afterLogout;
    // Forget first: whatever revocation does, this client no longer holds the session.
    this.#setTokens(undefined);
    this.#guest();
    this.#host.onIdentityChange({ clearData: true, disconnect: afterLogout === "disconnect" });
    if (!tokens) return;
    const [flows, server] = await this.#authorizationServer().catch(() => []);
    let revoked = false;
    if (flows && server) {
      const revoke = (token: string, hint: "access_token" | "refresh_token") =>
        flows.revokeToken(this.#flowContext, server, token, hint);
      const results = await Promise.allSettled([
        tokens.refreshToken && revoke(tokens.refreshToken, "refresh_token"),
        revoke(tokens.accessToken, "access_token"),
      ]);
      revoked = results.every((result) => result.status === "fulfilled");
    }
    if (!revoked) this.#host.log.warn("Token revocation failed; the tokens were forgotten anyway");
    const url =
      options.endSession &&
      server &&
      flows.endSessionUrl(
        this.#flowContext,
        server,
        tokens.idToken,
        options.postLogoutRedirectUri ?? this.#settings.postLogoutRedirectUri,
      );
    if (url) await open(url, options.openUrl);
  }

  /** The socket server refused our token: one forced refresh; true when a new token is ready. */
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

  /** Takes over what another tab wrote to shared storage (a rotated token set, or a logout). */
  sync(): void {
    if (this.#settings.storage !== "local") return;
    const stored = this.#read();
    if (stored?.accessToken === this.#current?.accessToken) return;
    const previousSub = this.#current ? userOf(this.#current).sub : undefined;
    this.#current = stored;
    if (!stored) {
      clearTimeout(this.#timer);
      this.#guest();
      this.#host.onIdentityChange({ clearData: true, disconnect: false });
      return;
    }
    const wasGuest = this.#store.getSnapshot().status !== "authenticated";
    this.#authenticated(stored);
    if (wasGuest || previousSub !== userOf(stored).sub) {
      this.#host.onIdentityChange({ clearData: !wasGuest, disconnect: false });
    }
  }

  async #completeRedirect(href: string): Promise<RedirectCallbackResult> {
    const previous = this.#store.getSnapshot();
    this.#store.set({ status: "loading", user: undefined, error: undefined });
    let transaction: LoginTransaction | undefined;
    try {
      const url = new URL(href);
      const expected = new URL(this.#context.redirectUri());
      if (url.origin !== expected.origin || url.pathname !== expected.pathname) {
        throw this.#error(
          "LENRA_AUTH_CALLBACK_INVALID",
          "This page is not the registered redirect URI: the login callback was refused.",
        );
      }
      const state = url.searchParams.get("state");
      // Single use: taken out before anything else, so a replay finds nothing.
      transaction = state ? this.#transactions.take(state) : undefined;
      if (!transaction) {
        throw this.#error(
          "LENRA_AUTH_CALLBACK_INVALID",
          "This login callback matches no login started here (unknown, expired or already used): start the login again.",
        );
      }
      await this.#redeem(url, transaction);
    } catch (error) {
      const authError =
        error instanceof this.#context.AuthError
          ? error
          : // No cause: it may hold the callback URL, with its code and state.
            this.#error("LENRA_AUTH_CALLBACK_INVALID", "The login callback could not be handled.");
      this.#store.set({ status: "error", user: previous.user, error: authError });
      // A refused or failed login still goes back to the page it started from, when known.
      this.#cleanAddressBar(href, transaction?.returnTo);
      throw authError;
    }
    this.#cleanAddressBar(href, transaction.returnTo);
    return { appState: transaction.appState };
  }

  async #redeem(url: URL, transaction: LoginTransaction): Promise<void> {
    const [flows, server] = await this.#authorizationServer();
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
    if (!this.#context.isBrowser() || window.location.href !== href) return;
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
      this.sync();
      const tokens = this.#current;
      if (!tokens?.refreshToken || (!force && isFresh(tokens))) return tokens;
      const [flows, server] = await this.#authorizationServer();
      try {
        const next = await flows.refreshTokens(this.#flowContext, server, tokens.refreshToken);
        this.#setTokens(next);
        this.#authenticated(next);
        return next;
      } catch (error) {
        if (error instanceof this.#context.AuthError && error.code === "LENRA_SESSION_EXPIRED") {
          this.#host.log.warn("The refresh token was refused; the session ended");
          this.#endSession(error);
          return undefined;
        }
        throw error;
      }
    };
    const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
    // With storage shared by tabs, a refresh token may be used by one tab only at a time.
    if (this.#settings.storage === "local" && locks) {
      return locks.request(`${this.#context.key}:refresh`, run);
    }
    return run();
  }

  /** The access token expired and there is no refresh token: back to guest, cleanly. */
  #expire() {
    this.#endSession(
      this.#error("LENRA_SESSION_EXPIRED", "The session expired. Log in again to continue."),
    );
  }

  #error(code: LenraErrorCode, message: string): LenraAuthError {
    return new this.#context.AuthError({ code, message });
  }

  #guest(error?: LenraAuthError) {
    this.#store.set({ status: "guest", user: undefined, error });
  }

  #endSession(error: LenraAuthError) {
    const hadTokens = this.#current !== undefined;
    this.#setTokens(undefined);
    this.#guest(error);
    if (hadTokens) this.#host.onIdentityChange({ clearData: true, disconnect: false });
  }

  #authenticated(tokens: TokenSet) {
    const previous = this.#store.getSnapshot();
    const user = userOf(tokens);
    const sameUser =
      previous.status === "authenticated" &&
      previous.user?.sub === user.sub &&
      previous.user?.scopes.join(" ") === user.scopes.join(" ");
    if (!sameUser || previous.error) {
      this.#store.set({ status: "authenticated", user, error: undefined });
    }
    this.#schedule(tokens);
  }

  #read(): TokenSet | undefined {
    const storage = this.#context.storage();
    return storage ? parseTokenSet(storage.getItem(this.#context.key)) : this.#memory;
  }

  #setTokens(tokens: TokenSet | undefined) {
    this.#current = tokens;
    if (!tokens) clearTimeout(this.#timer);
    try {
      const storage = this.#context.storage();
      const key = this.#context.key;
      if (!storage) this.#memory = tokens;
      // One JSON entry: replacing it (refresh-token rotation) is a single atomic write.
      else if (tokens) storage.setItem(key, JSON.stringify(tokens));
      else storage.removeItem(key);
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

  /** The flows module and the authorization server's metadata, loaded once. */
  #authorizationServer(): Promise<[Flows, AuthorizationServer]> {
    this.#flows ??= import("./flows.ts");
    this.#server ??= this.#flows
      .then((flows) => flows.discoverServer(this.#flowContext))
      .catch((error: unknown) => {
        // A failed discovery is tried again next time rather than remembered.
        this.#server = undefined;
        throw error;
      });
    return Promise.all([this.#flows, this.#server]);
  }
}
