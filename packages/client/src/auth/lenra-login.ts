import {
  type AuthController,
  type AuthHost,
  type AuthState,
  GUEST,
  type LenraLogin,
} from "../auth-state.ts";
import { LenraArgumentError, LenraAuthError } from "../errors.ts";
import { createStore, type WritableStore } from "../store.ts";
import {
  type AuthSettings,
  type LenraLoginOptions,
  readAuthOptions,
  type TokenStorage,
} from "./options.ts";
import type { Session } from "./session.ts";

// The part of the login that every page of an app with login loads: the checked options, the
// state, and the answers that need no session (nothing stored: a guest). The session, which
// holds, refreshes and revokes the tokens and runs the OAuth flows, is a chunk of its own,
// loaded the first time there is something for it to do: a login, a callback, a stored
// session, another tab's login.

const LOADING: AuthState = Object.freeze({ status: "loading", user: undefined, error: undefined });

function isBrowser(): boolean {
  return typeof window !== "undefined" && typeof window.location !== "undefined";
}

/**
 * The login of a client, for `createLenraClient({ login })`: OAuth 2.0 authorization code with
 * PKCE (S256), in redirect or popup mode, with refresh-token rotation and revocation on logout.
 * The session lasts across reloads, tabs and browser restarts (the refresh token in
 * `localStorage`, see `storage`), and every tab of the origin follows a login or logout made in
 * another. Wrong options throw a {@link LenraArgumentError} naming the option, here rather than at the
 * first login. Only a small part is loaded with the page; the rest (the token handling and
 * oauth4webapi) is loaded by the first login, callback, or stored session.
 *
 * @example
 * ```ts
 * import { createLenraClient } from "@lenra/client";
 * import { lenraLogin } from "@lenra/client/login";
 *
 * const lenra = createLenraClient({
 *   appName: "my-app",
 *   login: lenraLogin({ clientId: "my-client-id", baseUri: "https://auth.my-lenra.example" }),
 * });
 * button.onclick = () => lenra.auth.login();
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1 (authorization code grant)
 * @see https://www.rfc-editor.org/rfc/rfc7636 (PKCE)
 */
export function lenraLogin(options: LenraLoginOptions): LenraLogin {
  const settings = readAuthOptions(options);
  return { createAuth: (host) => createLogin(settings, host) };
}

/**
 * What the session gets from the login that loaded it. The session's modules import nothing else
 * at run time, only types: a module they shared with the page's code would be split by bundlers
 * such as esbuild into one more chunk, loaded with the page.
 */
export interface LoginContext {
  readonly settings: AuthSettings;
  readonly host: AuthHost;
  readonly store: WritableStore<AuthState>;
  /** The storage key of the session (see `StoredSession`). */
  readonly key: string;
  /** `LenraAuthError`, for the session and the flows to throw. */
  readonly AuthError: typeof LenraAuthError;
  /** `LenraArgumentError`, for a wrong argument found only when used. */
  readonly ArgumentError: typeof LenraArgumentError;
  isBrowser(): boolean;
  /**
   * The storage of the session, or `undefined` when it is kept in memory. Resolved on each
   * use, never at construction: storage must not be touched before the app uses login
   * (server-side rendering, sandboxed frames that throw on access).
   */
  storage(): TokenStorage | undefined;
}

/**
 * Opens the login popup. Called synchronously inside the click handler: browsers only allow
 * popups opened during the user's gesture, so nothing may be awaited before it.
 */
function openPopup(): Window | null {
  // Centered on the page's window; browsers keep a popup on the screen.
  const { screenX = 0, screenY = 0, outerWidth = 480, outerHeight = 640 } = window;
  return window.open(
    "about:blank",
    "lenra-login",
    `popup=yes,width=480,height=640,left=${screenX + (outerWidth - 480) / 2},top=${screenY + (outerHeight - 640) / 2}`,
  );
}

/** The login of one client: its state, and the session loaded when there is something to do. */
function createLogin(settings: AuthSettings, host: AuthHost): AuthController {
  const store = createStore(LOADING, () => void start());
  const { storage } = settings;
  const context: LoginContext = {
    settings,
    host,
    store,
    // One session per client and authorization server.
    key: `lenra:auth:${settings.clientId}:${settings.issuer ?? settings.baseUri}`,
    AuthError: LenraAuthError,
    ArgumentError: LenraArgumentError,
    isBrowser,
    storage: () =>
      storage === "memory"
        ? undefined
        : typeof storage === "object"
          ? storage
          : storage === "local"
            ? globalThis.localStorage
            : globalThis.sessionStorage,
  };
  let session: Promise<Session> | undefined;
  let loaded: Session | undefined;
  let started: Promise<void> | undefined;
  let popup: { window: Window; promise: Promise<void> } | undefined;

  const login: AuthController = {
    subscribe: store.subscribe,
    getSnapshot: store.getSnapshot,

    isRedirectCallback(url) {
      try {
        const parsed = new URL(url ?? window.location.href);
        // A path is of the page's origin (outside a browser it cannot match: false).
        const expected = new URL(
          settings.redirectUri ?? "/redirect.html",
          isBrowser() ? window.location.origin : undefined,
        );
        const params = parsed.searchParams;
        return (
          parsed.origin === expected.origin &&
          parsed.pathname === expected.pathname &&
          params.has("state") &&
          (params.has("code") || params.has("error"))
        );
      } catch {
        // No page, or no redirect URI to compare with.
        return false;
      }
    },

    async socketToken() {
      await start();
      return login.getAccessToken();
    },

    async getAccessToken() {
      host.assertAlive();
      // With no session loaded nor stored, this is a guest: nothing to load.
      return (await (session ?? (hasStoredSession() ? load() : undefined)))?.getAccessToken();
    },

    // Async, so that a throw rejects; nothing is awaited before the popup opens, within the
    // click's user activation.
    async login(options = {}) {
      host.assertAlive();
      if ((options.mode ?? settings.loginMode) === "popup") {
        const pending = popup;
        if (pending && !pending.window.closed) {
          pending.window.focus();
          return pending.promise;
        }
        // Opened before anything is awaited, while the click's user activation still holds.
        const opened = isBrowser() ? openPopup() : null;
        const promise = load()
          .then((loadedSession) => loadedSession.popupLogin(opened, options))
          .catch((error: unknown) => {
            opened?.close();
            throw error;
          })
          .finally(() => {
            if (popup?.promise === promise) popup = undefined;
          });
        if (opened) popup = { window: opened, promise };
        return promise;
      }
      return (await load()).redirectLogin(options);
    },

    async handleRedirectCallback(url) {
      host.assertAlive();
      return (await load()).handleRedirectCallback(url);
    },

    async logout(options = {}) {
      host.assertAlive();
      await start();
      return (await load()).logout(options);
    },

    async onTokenRejected() {
      return (await session)?.onTokenRejected() ?? false;
    },

    markUnauthorized() {
      // Only a token refused: it came from the session, so the session is loaded.
      loaded?.markUnauthorized();
    },
  };
  return login;

  function hasStoredSession(): boolean {
    try {
      return !!context.storage()?.getItem(context.key);
    } catch {
      // Storage that throws on access (sandboxed frames) holds nothing for us.
      return false;
    }
  }

  function load(): Promise<Session> {
    session ??= import("./session.ts").then(
      ({ Session }) => (loaded = new Session(context)),
      (error: unknown) => {
        // A chunk that failed to load (network) is tried again next time.
        session = undefined;
        throw error;
      },
    );
    return session;
  }

  /** The startup checks: a login callback in the address bar, a stored session, or a guest. */
  function start(): Promise<void> {
    started ??= check();
    return started;
  }

  async function check(): Promise<void> {
    const { key } = context;
    if (host.signal.aborted) return;
    const shared = settings.storage === "local" && isBrowser() ? context.storage() : undefined;
    if (shared) {
      // Another tab logged in, refreshed its tokens or logged out.
      window.addEventListener(
        "storage",
        (event) => {
          // `key` is null when the other tab cleared the whole storage.
          if ((event.key ?? key) !== key || event.storageArea !== shared) return;
          if (session || event.newValue) void load().then((loadedSession) => loadedSession.sync());
        },
        { signal: host.signal },
      );
    }
    if (settings.handleRedirectCallback && login.isRedirectCallback()) {
      // A failed callback leaves its error in the state.
      await login.handleRedirectCallback().catch(() => {});
    } else if (session || hasStoredSession()) {
      await (await load()).restore();
    } else if (store.getSnapshot().status === "loading") {
      store.set(GUEST);
    }
  }
}
