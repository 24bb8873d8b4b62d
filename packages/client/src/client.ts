import { type AuthHost, createGuestAuth, type LenraAuth, type LenraLogin } from "./auth-state.ts";
import { Connection, type ConnectionState, type WebSocketConstructor } from "./connection.ts";
import {
  LenraArgumentError,
  LenraError,
  LenraJoinError,
  readServerErrorDetail,
  type ServerErrorDetail,
  wrongArgument,
} from "./errors.ts";
import { createLog, type LenraLogger } from "./logger.ts";
import { probeHttp } from "./refusal-check.ts";
import type { ReadableStore } from "./store.ts";
import { type LenraView, RouteView, type ViewContext } from "./view.ts";

/** The development socket endpoint of a local Lenra. */
export const DEFAULT_SOCKET_ENDPOINT = "ws://localhost:4001/socket";

type Params = Record<string, unknown>;

export interface LenraClientOptions {
  /**
   * The login, from `lenraLogin({ clientId, ... })` of `@lenra/client/login`. Without it the app
   * is guest-only: `auth` stays `guest` and `auth.login()` rejects, and no login code is bundled.
   */
  login?: LenraLogin;
  /**
   * The `fetch` for HTTP requests: the reachability check of the socket server when it seems to
   * refuse the token, and the login's requests unless `lenraLogin({ fetch })` says otherwise.
   * Defaults to the global `fetch`.
   */
  fetch?: typeof fetch;
  /**
   * The app's name, sent as the `app` socket param. Leave it out when the socket endpoint is
   * bound to one app.
   */
  appName?: string;
  /**
   * The Phoenix socket endpoint, without `/websocket`.
   * Defaults to `ws://localhost:4001/socket` (a local Lenra or `@lenra/devserver`).
   */
  socketEndpoint?: string;
  /** Sent with the socket as `context`; views receive it in their context. Read on every connect. */
  context?: Params | (() => Params);
  /** Extra socket params, read on every (re)connect. */
  params?: Params | (() => Params);
  /** Receives debug events. Nothing is logged by default. */
  logger?: LenraLogger;
  /** The WebSocket implementation. Defaults to the global `WebSocket`; in Node pass the `ws` package's. */
  transport?: WebSocketConstructor;
  /**
   * Returns the access token sent with each (re)connect, or nothing for a guest. Called before
   * every connection attempt, so it can refresh an expiring token first. A `login` provides it;
   * set it only when you manage tokens elsewhere (without `login`).
   */
  getAccessToken?: () => string | null | undefined | Promise<string | null | undefined>;
  /** Connect as soon as a view is subscribed. Defaults to `true`. */
  autoConnect?: boolean;
  /**
   * How long a route stays joined after its last subscriber left, so a remount (React
   * StrictMode, a quick navigation back) does not rejoin. Defaults to 2000 ms.
   */
  lingerMs?: number;
  /** How long a listener call waits for the server's reply. Defaults to 10000 ms. */
  listenerTimeoutMs?: number;
  /** How long a join waits for the server's reply before retrying. Defaults to 10000 ms. */
  joinTimeoutMs?: number;
  /** Refused joins of a route tried in a row before giving up until the next connection. Defaults to 3. */
  maxJoinAttempts?: number;
}

/** A JSON route as the `routes` topic lists it. */
export interface JsonRoute {
  readonly path: string;
  readonly view: unknown;
  readonly roles?: readonly string[];
}

export interface LenraClient {
  /** The socket's state. */
  readonly connection: ReadableStore<ConnectionState>;
  /** Login state and actions; always a guest without a `login` option. */
  readonly auth: LenraAuth;
  /**
   * The live view of a JSON route, such as `/counter/me`. The same path always returns the same
   * object, and every consumer shares its single channel.
   */
  view<T = unknown>(path: string): LenraView<T>;
  /** The JSON routes this session may join (the `routes` topic). */
  routes(): Promise<JsonRoute[]>;
  /** Connects the socket. Views connect it on their own unless `autoConnect` is false. */
  connect(): void;
  /** Closes the socket; views keep their last data, marked stale, until `connect()`. */
  disconnect(): Promise<void>;
  /**
   * Shuts the client down for good: closes the socket, leaves every channel, clears every timer
   * and event listener, and rejects the listener calls still waiting for a reply. Afterwards
   * every method throws a `LenraError` with code `client_disposed` (snapshots stay readable).
   * For tests, micro-frontends that unmount, and hot module replacement. Resolves once the
   * socket is closed; calling it again does nothing more.
   */
  dispose(): Promise<void>;
}

const REJOIN_DELAYS = [500, 1000, 2000, 5000];
const RECONNECT_DELAYS = [100, 250, 500, 1000, 2000, 5000];

/** Creates a client. Nothing is connected and no browser API is touched until a view is used. */
export function createLenraClient(options: LenraClientOptions = {}): LenraClient {
  const settings = readOptions(options);
  const log = createLog(options.logger);
  const views = new Map<string, RouteView>();
  // Aborted by dispose(): every event listener is registered with its signal.
  const lifetime = new AbortController();
  const { signal } = lifetime;
  const assertAlive = () => {
    if (signal.aborted) throw disposedError();
  };

  const host: AuthHost = {
    log,
    fetch: options.fetch,
    signal,
    assertAlive,
    onIdentityChange({ clearData, disconnect }) {
      if (signal.aborted) return;
      // The previous identity's data must not stay on screen under the new one.
      if (clearData) for (const view of views.values()) view.clearData();
      if (disconnect) void connection.disconnect();
      else connection.reconnect();
    },
  };
  const auth = options.login ? options.login.createAuth(host) : createGuestAuth(host);

  const connection = new Connection({
    endpoint: settings.socketEndpoint,
    params: () => {
      const params: Params = { ...resolve(options.params) };
      if (options.appName !== undefined) params.app = options.appName;
      const context = resolve(options.context);
      if (Object.keys(context).length > 0) params.context = context;
      return params;
    },
    getAccessToken: options.getAccessToken ?? (() => auth.tokenForConnection()),
    onTokenRejected: () => auth.onTokenRejected(),
    onUnauthorized: () => auth.markUnauthorized(),
    probe: () => probeHttp(settings.socketEndpoint, options.fetch, signal),
    transport: options.transport,
    // A little jitter keeps a crowd of clients from reconnecting in lockstep after an outage.
    reconnectDelay: (attempt) =>
      Math.round(pick(RECONNECT_DELAYS, attempt) * (1 + Math.random() * 0.25)),
    rejoinDelay: (attempt) => pick(REJOIN_DELAYS, attempt),
    timeout: settings.joinTimeoutMs,
    log,
    signal,
  });

  const context: ViewContext = {
    ...settings,
    connection,
    log,
    assertAlive,
    // Unless the app closed the connection on purpose.
    ensureConnected: () => {
      if (settings.autoConnect && connection.state.getSnapshot().status !== "closed") {
        connection.connect();
      }
    },
    resyncDelay: (attempt) => (attempt <= 1 ? 0 : Math.min(30_000, 500 * 2 ** (attempt - 2))),
  };

  let pendingRoutes: Promise<JsonRoute[]> | undefined;
  let disposed: Promise<void> | undefined;

  return {
    connection: connection.state,
    auth,
    view<T>(path: string): LenraView<T> {
      assertAlive();
      if (typeof path !== "string" || path[0] !== "/") {
        throw wrongArgument("view", "path", 'must be a string starting with "/"', path);
      }
      let view = views.get(path);
      if (!view) {
        view = new RouteView(path, context);
        views.set(path, view);
      }
      return view as unknown as LenraView<T>;
    },
    routes() {
      assertAlive();
      // Two joins of one topic on one socket close each other: concurrent callers share one.
      pendingRoutes ??= fetchRoutes(context).finally(() => {
        pendingRoutes = undefined;
      });
      return pendingRoutes;
    },
    connect() {
      assertAlive();
      connection.connect();
    },
    disconnect() {
      assertAlive();
      return connection.disconnect();
    },
    dispose() {
      if (!disposed) {
        lifetime.abort(disposedError());
        for (const view of views.values()) view.dispose(disposedError());
        views.clear();
        disposed = connection.dispose();
      }
      return disposed;
    },
  };
}

function fetchRoutes(context: ViewContext) {
  context.ensureConnected();
  const { connection, joinTimeoutMs } = context;
  return new Promise<JsonRoute[]>((resolve, reject) => {
    const channel = connection.channel("routes", { mode: "json" });
    const fail = (detail: ServerErrorDetail, response?: unknown) => {
      reject(
        new LenraJoinError({
          ...detail,
          route: "routes",
          response,
          message: `Could not list the routes: ${detail.message}`,
        }),
      );
      channel.leave();
    };
    // Closed before any reply: dispose() left it.
    channel.onClose(() => reject(disposedError()));
    channel
      .join(joinTimeoutMs)
      .receive("ok", (response: { jsonRoutes?: JsonRoute[] } | undefined) => {
        resolve(Array.isArray(response?.jsonRoutes) ? response.jsonRoutes : []);
        channel.leave();
      })
      .receive("error", (response: unknown) => fail(readServerErrorDetail(response), response))
      .receive("timeout", () => fail({ message: "no reply from the server", reason: "timeout" }));
  });
}

function disposedError() {
  return new LenraError({
    code: "LENRA_CLIENT_DISPOSED",
    message: "This Lenra client was disposed: create a new one with createLenraClient().",
  });
}

function resolve(value: Params | (() => Params) | undefined): Params {
  return (typeof value === "function" ? value() : value) ?? {};
}

function pick(delays: readonly number[], attempt: number): number {
  return delays[attempt - 1] ?? 10_000;
}

/**
 * Checks what TypeScript cannot (a wrong type is its job): the socket endpoint's form, a login
 * made by `lenraLogin`, the options that exclude each other. A wrong option throws a
 * {@link LenraArgumentError} naming it.
 */
function readOptions(options: LenraClientOptions) {
  if (typeof options !== "object" || !options) {
    throw new LenraArgumentError({
      message: "createLenraClient(options): options must be an object.",
    });
  }
  const { socketEndpoint = DEFAULT_SOCKET_ENDPOINT, login } = options;
  const check = (ok: unknown, name: keyof LenraClientOptions, expected: string) => {
    if (!ok) throw wrongArgument("createLenraClient", name, `must be ${expected}`, options[name]);
  };
  check(options.appName !== "", "appName", "a non-empty string");
  check(
    /^(wss?:\/\/|\/)/.test(socketEndpoint),
    "socketEndpoint",
    "a ws://, wss:// or /-relative URL",
  );
  check(
    !login || typeof login.createAuth === "function",
    "login",
    "what `lenraLogin({ clientId, ... })` returns",
  );
  if (login && options.getAccessToken) {
    throw new LenraArgumentError({
      message:
        "createLenraClient: give either `login` (built-in login) or `getAccessToken` (your own tokens), not both.",
    });
  }
  return {
    socketEndpoint: socketEndpoint.replace(/\/+$/, ""),
    autoConnect: options.autoConnect ?? true,
    lingerMs: options.lingerMs ?? 2000,
    listenerTimeoutMs: options.listenerTimeoutMs ?? 10_000,
    joinTimeoutMs: options.joinTimeoutMs ?? 10_000,
    maxJoinAttempts: options.maxJoinAttempts ?? 3,
  };
}
