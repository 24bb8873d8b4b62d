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
import { createSessionVersion, type SessionVersion } from "./session-version.ts";
import { parseStoredSession, type StoredSession, type TokenSet } from "./token-store.ts";
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
/**
 * How long a tab waits for its copy of the storage to show another tab's latest write, read
 * again every `CATCH_UP_POLL_MS` (see `SessionVersion`). A few milliseconds as a rule.
 */
const CATCH_UP_MS = 2_000;
const CATCH_UP_POLL_MS = 10;
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

/** Any unique text: it only tells one login, or one write, from another. */
function uniqueText(): string {
  return `${Date.now().toString(36)}.${Math.random().toString(36).slice(2)}`;
}

function open(url: string, openUrl: ((url: string) => void | Promise<void>) | undefined) {
  return (openUrl ?? ((u: string) => window.location.assign(u)))(url);
}

/**
 * The signed-in session. The storage keeps the refresh token (one entry per client and issuer,
 * rotated on every use); the access token stays in this tab's memory. A tab takes up a stored
 * session by redeeming its refresh token, and follows what other tabs write: a refresh of the
 * same login changes nothing here, another login is taken up, a removal is a logout. Refreshes
 * are single flight, and with shared storage one tab at a time (a Web Lock), each reading the
 * latest refresh token first (see `SessionVersion`), so two tabs never redeem the same one.
 */
export class Session {
  readonly #context: LoginContext;
  readonly #settings: LoginContext["settings"];
  readonly #host: LoginContext["host"];
  readonly #store: LoginContext["store"];
  readonly #transactions: TransactionStore;
  readonly #flowContext: FlowContext;
  /** This tab's tokens, the access token among them: never stored. */
  #tokens: TokenSet | undefined;
  /** The id of the login whose tokens this tab holds (see `StoredSession`). */
  #id: string | undefined;
  /** The stored session when it is kept in memory (`storage: "memory"`, or a storage that failed). */
  #memory: StoredSession | undefined;
  /** A write to the storage failed: the session is kept in memory from then on. */
  #memoryOnly = false;
  /** The latest write of a storage shared by tabs (`undefined` for a storage of this tab's own). */
  readonly #version: SessionVersion | undefined;
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
    this.#version =
      settings.storage === "local" ? createSessionVersion(context.key, host.signal) : undefined;
    host.signal.addEventListener("abort", () => clearTimeout(this.#timer), { once: true });
  }

  /**
   * Takes up the stored session at startup: the state stays `loading` until its refresh token is
   * redeemed (`authenticated`) or refused (`guest`). When the authorization server cannot be
   * reached, it stays `loading` and the next token request tries again.
   */
  async restore(): Promise<void> {
    if (!this.#read()) {
      if (this.#store.getSnapshot().status === "loading") this.#guest();
      return;
    }
    try {
      await this.#refresh();
    } catch {
      this.#host.log.warn?.(
        "The stored session could not be redeemed yet; retrying when a token is needed",
      );
    }
  }

  async getAccessToken(): Promise<string | undefined> {
    this.#host.assertAlive();
    const tokens = this.#tokens;
    if (tokens && isFresh(tokens)) return tokens.accessToken;
    if (this.#read()) return (await this.#refresh())?.accessToken;
    if (tokens) this.#expire();
    return undefined;
  }

  async redirectLogin(options: LoginOptions): Promise<void> {
    // Back where the login started, unless told otherwise.
    const returnTo =
      options.returnTo ??
      (this.#context.isBrowser() && !options.openUrl
        ? window.location.pathname + window.location.search + window.location.hash
        : undefined);
    const [transaction, url] = await this.#authorize(options, returnTo);
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
    const [transaction, url] = await this.#authorize(options, undefined);
    popup.location.href = url;
    const callbackUrl = await waitForPopupCallback(
      popup,
      transaction.redirectUri,
      this.#settings.popupTimeoutMs,
      this.#host.signal,
      this.#context.AuthError,
    );
    await this.#redeem(callbackUrl, transaction);
  }

  /** A new login attempt and its authorization request URL. */
  async #authorize(
    { appState, extraAuthParams, prompt, loginHint }: LoginOptions,
    returnTo: string | undefined,
  ): Promise<[LoginTransaction, string]> {
    const [flows, server] = await this.#authorizationServer();
    const transaction = flows.createTransaction(this.#redirectUri(), appState, returnTo);
    const params: Record<string, string> = { ...extraAuthParams };
    if (prompt) params.prompt = prompt;
    if (loginHint) params.login_hint = loginHint;
    return [
      transaction,
      await flows.authorizationUrl(this.#flowContext, server, transaction, params),
    ];
  }

  handleRedirectCallback(url: string | undefined): Promise<RedirectCallbackResult> {
    const href = url ?? (this.#context.isBrowser() ? window.location.href : undefined);
    if (!href) {
      return Promise.reject(
        new this.#context.ArgumentError({
          message: "handleRedirectCallback(url): pass the URL outside a browser.",
        }),
      );
    }
    // React StrictMode runs effects twice: the same URL redeems its code once.
    let result = this.#callbacks.get(href);
    if (!result) {
      result = this.#completeRedirect(href);
      this.#callbacks.set(href, result);
    }
    return result;
  }

  /** Where the authorization server sends the browser back: a path is of the page's origin. */
  #redirectUri(): string {
    const uri = this.#settings.redirectUri ?? "/redirect.html";
    if (this.#context.isBrowser()) return new URL(uri, window.location.origin).href;
    if (uri[0] !== "/") return uri;
    throw new this.#context.ArgumentError({
      message: "lenraLogin: set `redirectUri` to a full URL outside a browser.",
    });
  }

  async logout(options: LogoutOptions): Promise<void> {
    const tokens = this.#tokens;
    const refreshToken = this.#read()?.refreshToken ?? tokens?.refreshToken;
    const afterLogout = options.afterLogout ?? this.#settings.afterLogout;
    // Forget first, here and in every tab: whatever revocation does, the session is over.
    void this.#write(undefined);
    this.#endSession(undefined, { disconnect: afterLogout === "disconnect" });
    if (!tokens && !refreshToken) return;
    const [flows, server] = await this.#authorizationServer().catch(() => []);
    let revoked = false;
    if (flows && server) {
      const revoke = (token: string | undefined, hint: "access_token" | "refresh_token") =>
        token && flows.revokeToken(this.#flowContext, server, token, hint);
      const results = await Promise.allSettled([
        revoke(refreshToken, "refresh_token"),
        revoke(tokens?.accessToken, "access_token"),
      ]);
      revoked = results.every((result) => result.status === "fulfilled");
    }
    if (!revoked)
      this.#host.log.warn?.("Token revocation failed; the tokens were forgotten anyway");
    const postLogout = options.postLogoutRedirectUri ?? this.#settings.postLogoutRedirectUri;
    const url =
      options.endSession &&
      server &&
      flows.endSessionUrl(
        this.#flowContext,
        server,
        tokens?.idToken,
        postLogout && this.#context.isBrowser()
          ? new URL(postLogout, window.location.origin).href
          : postLogout,
      );
    if (url) await open(url, options.openUrl);
  }

  /** The socket server refused our token: one forced refresh; true when a new token is ready. */
  async onTokenRejected(): Promise<boolean> {
    const before = this.#tokens?.accessToken;
    if (!this.#read()) return false;
    try {
      const next = await this.#refresh(true);
      return next !== undefined && next.accessToken !== before;
    } catch {
      return false;
    }
  }

  /** The socket server kept refusing the token, even a refreshed one. */
  markUnauthorized(): void {
    this.#store.set({
      status: "error",
      user: this.#store.getSnapshot().user,
      error: this.#error(
        "LENRA_UNAUTHORIZED",
        "The server refused the session's access token. Log in again.",
      ),
    });
  }

  /**
   * Another tab wrote to the shared storage: a removed session is a logout, another login is
   * taken up (its refresh token redeemed for a token of this tab's own); a refresh of the login
   * this tab holds needs nothing.
   */
  sync(): void {
    const stored = this.#read();
    if (!stored) {
      if (this.#id) this.#endSession();
    } else if (stored.id !== this.#id) {
      // A failure leaves this tab as it was; the next token request tries again.
      this.#refresh().catch(() => {});
    }
  }

  async #completeRedirect(href: string): Promise<RedirectCallbackResult> {
    const expected = new URL(this.#redirectUri());
    const previous = this.#store.getSnapshot();
    this.#store.set({ status: "loading", user: undefined, error: undefined });
    let transaction: LoginTransaction | undefined;
    try {
      const url = new URL(href);
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

  /** Redeems a login's code: a new session, stored for every tab when it can be refreshed. */
  async #redeem(url: URL, transaction: LoginTransaction): Promise<void> {
    const [flows, server] = await this.#authorizationServer();
    const tokens = await flows.redeemCallback(this.#flowContext, server, url, transaction);
    const id = uniqueText();
    const { refreshToken } = tokens;
    // Under the lock: a refresh of the previous session in another tab cannot write after it.
    await this.#locked(() => this.#write(refreshToken ? { id, refreshToken } : undefined));
    this.#signedIn(tokens, id);
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

  #doRefresh(force: boolean): Promise<TokenSet | undefined> {
    return this.#locked(async () => {
      // Read under the lock: another tab may have rotated the refresh token, logged in or out.
      const stored = await this.#readLatest();
      const tokens = this.#tokens;
      if (!stored) {
        this.#endSession();
        return undefined;
      }
      if (stored.id === this.#id && tokens && !force && isFresh(tokens)) return tokens;
      const [flows, server] = await this.#authorizationServer();
      let next: TokenSet;
      try {
        next = await flows.refreshTokens(this.#flowContext, server, stored.refreshToken);
      } catch (error) {
        if (error instanceof this.#context.AuthError && error.code === "LENRA_SESSION_EXPIRED") {
          this.#host.log.warn?.("The refresh token was refused; the session ended");
          // Unless another tab has stored another session meanwhile.
          if (this.#read()?.refreshToken === stored.refreshToken) await this.#write(undefined);
          this.#endSession(error);
          return undefined;
        }
        throw error;
      }
      // Another tab logged out while the request ran: the session is over, these tokens with it.
      if (!this.#read() || (await this.#version?.read()) === null) {
        const revoke = next.refreshToken ?? next.accessToken;
        const hint = next.refreshToken ? "refresh_token" : "access_token";
        flows.revokeToken(this.#flowContext, server, revoke, hint).catch(() => {});
        this.#endSession();
        return undefined;
      }
      await this.#write({ id: stored.id, refreshToken: next.refreshToken ?? stored.refreshToken });
      this.#signedIn(next, stored.id);
      return next;
    });
  }

  /**
   * Runs `task` holding the session's Web Lock when the storage is shared by tabs: a refresh token
   * is used by one tab at a time, and each write of the session comes after the previous one.
   */
  #locked<T>(task: () => Promise<T>): Promise<T> {
    const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
    if (this.#settings.storage === "local" && locks) {
      return locks.request(`${this.#context.key}:refresh`, task) as Promise<T>;
    }
    return task();
  }

  /**
   * The stored session as the latest write left it, in any tab. This tab's copy of the storage
   * may not show another tab's write yet (see `SessionVersion`): it is read again until it shows
   * the latest version, for up to `CATCH_UP_MS`, then taken as it is.
   */
  async #readLatest(): Promise<StoredSession | undefined> {
    const latest = this.#memoryOnly ? undefined : await this.#version?.read();
    const deadline = Date.now() + CATCH_UP_MS;
    let stored = this.#read();
    while (latest !== undefined && (stored?.version ?? null) !== latest) {
      if (Date.now() >= deadline) {
        this.#host.log.warn?.("The stored session did not catch up with the latest write in time");
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, CATCH_UP_POLL_MS));
      stored = this.#read();
    }
    return stored;
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

  /**
   * Forgets this tab's tokens and goes back to guest. The socket reconnects as a guest first,
   * so that nothing joins on the old identity's socket meanwhile.
   */
  #endSession(error?: LenraAuthError, logout?: { disconnect: boolean }) {
    const hadTokens = this.#tokens !== undefined;
    this.#tokens = this.#id = undefined;
    clearTimeout(this.#timer);
    // A logout reconnects (or disconnects) even without tokens: the socket may hold a refused one.
    if (hadTokens || logout) {
      this.#host.onIdentityChange({ clearData: true, disconnect: !!logout?.disconnect });
    }
    // A guest already keeps what it was told (an expired session), unless there is news.
    if (error || this.#store.getSnapshot().status !== "guest") this.#guest(error);
  }

  /**
   * Holds `tokens`, of the login `id`. When the identity changes (a login, another tab's login,
   * the stored session taken up), the socket reconnects with the new token before the state says
   * `authenticated`: views that join because of the new state join on the new identity's socket.
   */
  #signedIn(tokens: TokenSet, id: string) {
    const previous = this.#store.getSnapshot();
    const user = userOf(tokens);
    const wasUser = previous.status === "authenticated";
    const changed = !wasUser || id !== this.#id;
    this.#tokens = tokens;
    this.#id = id;
    if (changed) {
      this.#host.onIdentityChange({
        clearData: wasUser && previous.user?.sub !== user.sub,
        disconnect: false,
      });
    }
    const sameUser =
      wasUser &&
      previous.user?.sub === user.sub &&
      previous.user?.scopes.join(" ") === user.scopes.join(" ");
    if (!sameUser || previous.error) {
      this.#store.set({ status: "authenticated", user, error: undefined });
    }
    this.#schedule(tokens);
  }

  #storage() {
    return this.#memoryOnly ? undefined : this.#context.storage();
  }

  #read(): StoredSession | undefined {
    try {
      const storage = this.#storage();
      if (storage) return parseStoredSession(storage.getItem(this.#context.key));
    } catch {
      // Storage that throws on access (sandboxed frames) holds nothing for us.
    }
    return this.#memory;
  }

  /**
   * Stores `session` (or removes it) as a new version; resolves once every tab can tell it is
   * the latest (see `SessionVersion`).
   */
  #write(session: Omit<StoredSession, "version"> | undefined): Promise<void> {
    const version = uniqueText();
    const entry = session && { ...session, version };
    this.#memory = entry;
    try {
      const storage = this.#storage();
      const key = this.#context.key;
      // One JSON entry: replacing it (refresh-token rotation) is a single atomic write.
      if (entry) storage?.setItem(key, JSON.stringify(entry));
      else storage?.removeItem(key);
    } catch {
      this.#memoryOnly = true;
      this.#host.log.warn?.("The token storage could not be written; the session stays in memory");
    }
    if (this.#memoryOnly || !this.#version) return Promise.resolve();
    return this.#version.write(entry ? version : null);
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
      if (this.#tokens !== tokens) return;
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
          this.#host.log.warn?.(
            `Refreshing the session ahead of expiry failed; retrying ${lasts ? `in ${Math.round(wait)} ms` : "when a token is needed"}`,
          );
          if (lasts && this.#tokens === tokens) this.#schedule(tokens, retryAt);
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
