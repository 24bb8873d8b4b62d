import { type AuthHost, createGuestAuth, type LenraAuth, type LenraLogin } from "./auth-state.ts";
import { type ConnectionState, createConnection, type WebSocketConstructor } from "./connection.ts";
import {
  LenraArgumentError,
  LenraError,
  LenraJoinError,
  readServerErrorDetail,
  type ServerErrorDetail,
  wrongArgument,
} from "./errors.ts";
import type { LenraLogger, Log } from "./logger.ts";
import type { ReadableStore } from "./store.ts";
import { createRouteView, type LenraView, type RouteView, type ViewContext } from "./view.ts";

/**
 * The development socket endpoint of a local Lenra (and of `@lenra/devserver`), the default of
 * `socketEndpoint`.
 *
 * @example
 * ```ts
 * const socketEndpoint = import.meta.env.PROD ? "wss://api.lenra.io/socket" : DEFAULT_SOCKET_ENDPOINT;
 * ```
 * @see PROTOCOL.md section 1
 */
export const DEFAULT_SOCKET_ENDPOINT = "ws://localhost:4001/socket";

type Params = Record<string, unknown>;

/**
 * The options of {@link createLenraClient}, all optional. TypeScript checks their types;
 * `createLenraClient` checks what it cannot (the endpoint's form, the login, options that
 * exclude each other) and throws a {@link LenraArgumentError} naming the option.
 */
export interface LenraClientOptions {
  /**
   * The login, from `lenraLogin({ clientId, ... })` of `@lenra/client/login`. Without it the app
   * is guest-only: `auth` stays `guest` and `auth.login()` rejects, and no login code is bundled.
   *
   * @example `login: lenraLogin({ clientId: "my-client-id", baseUri: "https://auth.example" })`
   */
  login?: LenraLogin;
  /**
   * The `fetch` of the login's requests, unless `lenraLogin({ fetch })` says otherwise.
   * Defaults to the global `fetch`.
   *
   * @example `fetch: (input, init) => fetch(input, { ...init, keepalive: true })`
   */
  fetch?: typeof fetch;
  /**
   * The app's name, sent as the `app` socket param. Leave it out when the socket endpoint is
   * bound to one app.
   *
   * @example `appName: "counter"`
   * @see PROTOCOL.md section 2
   */
  appName?: string;
  /**
   * The Phoenix socket endpoint, without `/websocket`: `wss://`, a path of the page's origin, or
   * `ws://` on this machine (`localhost`, `127.x.x.x`, `[::1]`). Defaults to
   * `ws://localhost:4001/socket` (a local Lenra or `@lenra/devserver`).
   *
   * @example `socketEndpoint: "wss://api.lenra.io/socket"`
   * @see PROTOCOL.md section 1
   */
  socketEndpoint?: string;
  /**
   * Allows a `ws://` socket endpoint off this machine, where the access token and the data
   * travel in clear: for a development server on a local network, never in production.
   * Defaults to `false`.
   *
   * @example `allowInsecureRequests: import.meta.env.DEV`
   */
  allowInsecureRequests?: boolean;
  /**
   * Sent with the socket as `context`; views receive it in their context. A function is called
   * on every (re)connect.
   *
   * @example `context: () => ({ locale: navigator.language })`
   * @see PROTOCOL.md section 2
   */
  context?: Params | (() => Params);
  /**
   * Extra socket params; a function is called on every (re)connect.
   *
   * @example `params: { platform: "web" }`
   * @see PROTOCOL.md section 2
   */
  params?: Params | (() => Params);
  /**
   * Receives debug events and warnings (never a token, code or view data). Nothing is logged by
   * default.
   *
   * @example `logger: console`
   */
  logger?: LenraLogger;
  /**
   * The WebSocket implementation. Defaults to the global `WebSocket`; in Node pass the `ws`
   * package's.
   *
   * @example `transport: WebSocket` (after `import { WebSocket } from "ws"`)
   */
  transport?: WebSocketConstructor;
  /**
   * Returns the access token sent with each (re)connect, or nothing for a guest. Called before
   * every connection attempt, so it can refresh an expiring token first. A `login` provides it;
   * set it only when you manage tokens elsewhere (without `login`).
   *
   * @example `getAccessToken: () => mySession.accessToken`
   * @see PROTOCOL.md section 2
   */
  getAccessToken?: () => string | null | undefined | Promise<string | null | undefined>;
  /**
   * Connect as soon as a view is subscribed. Defaults to `true`; with `false`, call
   * `client.connect()`.
   *
   * @example `autoConnect: false`
   */
  autoConnect?: boolean;
  /**
   * How long a route stays joined after its last subscriber left, so a remount (React
   * StrictMode, a quick navigation back) does not rejoin. Defaults to 2000 ms.
   *
   * @example `lingerMs: 5_000`
   */
  lingerMs?: number;
  /**
   * How long a listener call waits for the server's reply. Defaults to 10000 ms.
   *
   * @example `listenerTimeoutMs: 30_000`
   * @see PROTOCOL.md section 4
   */
  listenerTimeoutMs?: number;
  /**
   * How long a join waits for the server's reply before retrying. Defaults to 10000 ms.
   *
   * @example `joinTimeoutMs: 5_000`
   * @see PROTOCOL.md section 3
   */
  joinTimeoutMs?: number;
  /**
   * How long the socket's upgrade may go unanswered before the attempt is given up and retried
   * (a hung server, a black-holed route). Defaults to 10000 ms.
   *
   * @example `connectTimeoutMs: 5_000`
   * @see docs/RELIABILITY.md
   */
  connectTimeoutMs?: number;
  /**
   * How often a heartbeat checks that the open socket still hears from the server. An interval
   * without a single frame turns the connection `reconnecting` and the views stale, so a dead
   * (half-open) socket is noticed within two intervals. Defaults to 30000 ms.
   *
   * @example `heartbeatIntervalMs: 10_000`
   * @see PROTOCOL.md section 2 (heartbeat)
   */
  heartbeatIntervalMs?: number;
  /**
   * Refused joins of a route tried in a row before giving up until the next connection or
   * `view.retry()`; the view stays `pending` until then, and turns `error` when it gives up.
   * Defaults to 3.
   *
   * @example `maxJoinAttempts: 1`
   * @see PROTOCOL.md section 3
   */
  maxJoinAttempts?: number;
}

/**
 * A JSON route as the `routes` topic lists it.
 *
 * @see PROTOCOL.md section 3
 */
export interface JsonRoute {
  readonly path: string;
  readonly view: unknown;
  readonly roles?: readonly string[];
}

/** What {@link createLenraClient} returns: the socket, the login and the views of one app. */
export interface LenraClient {
  /**
   * The socket's state, as a store.
   *
   * @example
   * ```ts
   * lenra.connection.subscribe(() => badge.textContent = lenra.connection.getSnapshot().status);
   * ```
   */
  readonly connection: ReadableStore<ConnectionState>;
  /**
   * Login state and actions; always a guest without a `login` option.
   *
   * @example
   * ```ts
   * button.onclick = () => lenra.auth.login();
   * ```
   */
  readonly auth: LenraAuth;
  /**
   * The live view of a JSON route, such as `/counter/me`. The same path always returns the same
   * object, and every consumer shares its single channel, joined on the first subscriber.
   *
   * @example
   * ```ts
   * const counter = lenra.view<{ value: number }>("/counter/global");
   * const stop = counter.subscribe(() => render(counter.getSnapshot().data?.value));
   * ```
   * @see PROTOCOL.md section 3
   */
  view<T = unknown>(path: string): LenraView<T>;
  /**
   * The JSON routes this session may join (the `routes` topic).
   *
   * @example
   * ```ts
   * const paths = (await lenra.routes()).map((route) => route.path);
   * ```
   * @see PROTOCOL.md section 3
   */
  routes(): Promise<JsonRoute[]>;
  /**
   * Connects the socket. Views connect it on their own unless `autoConnect` is false.
   *
   * @example
   * ```ts
   * lenra.connect();
   * ```
   */
  connect(): void;
  /**
   * Closes the socket; views keep their last data, marked stale, until `connect()`.
   *
   * @example
   * ```ts
   * await lenra.disconnect();
   * ```
   */
  disconnect(): Promise<void>;
  /**
   * Shuts the client down for good: closes the socket, leaves every channel, clears every timer
   * and event listener, and rejects the listener calls still waiting for a reply. Afterwards
   * every method throws a `LenraError` with code `LENRA_CLIENT_DISPOSED` (snapshots stay
   * readable). For tests, micro-frontends that unmount, and hot module replacement. Resolves
   * once the socket is closed; calling it again does nothing more.
   *
   * @example
   * ```ts
   * import.meta.hot?.dispose(() => lenra.dispose());
   * ```
   */
  dispose(): Promise<void>;
}

/**
 * Creates a client for one Lenra app. Nothing is connected and no browser API is touched until
 * a view is used, so it is safe to create at import time and during server-side rendering.
 *
 * @example
 * ```ts
 * import { createLenraClient } from "@lenra/client";
 *
 * export const lenra = createLenraClient({
 *   appName: "counter",
 *   socketEndpoint: "wss://my-lenra.example/socket",
 * });
 * ```
 * @see PROTOCOL.md section 2
 */
export function createLenraClient(options: LenraClientOptions = {}): LenraClient {
  const settings = readOptions(options);
  const log: Log = options.logger ?? {};
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

  const connection = createConnection({
    ...settings,
    params: () => {
      const params: Params = { ...resolve(options.params) };
      if (options.appName !== undefined) params.app = options.appName;
      const context = resolve(options.context);
      if (Object.keys(context).length > 0) params.context = context;
      return params;
    },
    getAccessToken: options.getAccessToken ?? (() => auth.socketToken()),
    auth,
    transport: options.transport,
    log,
    signal,
  });

  const context: ViewContext = {
    ...settings,
    connection,
    log,
    assertAlive,
    // Only a socket never asked for: one under way needs nothing, and one closed by the app or
    // refused by the server stays so until `connect()`.
    ensureConnected: () => {
      if (settings.autoConnect && connection.state.getSnapshot().status === "idle") {
        connection.connect();
      }
    },
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
        view = createRouteView(path, context);
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

/**
 * Checks what TypeScript cannot (a wrong type is its job): the socket endpoint's form, a login
 * made by `lenraLogin`, the options that exclude each other. A wrong option throws a
 * {@link LenraArgumentError} naming it.
 */
function readOptions(options: LenraClientOptions) {
  if (typeof options !== "object" || !options) {
    throw new LenraArgumentError({
      message: "createLenraClient: `options` must be an object.",
    });
  }
  const { socketEndpoint = DEFAULT_SOCKET_ENDPOINT, login } = options;
  const check = (ok: unknown, name: keyof LenraClientOptions, expected: string) => {
    if (!ok) throw wrongArgument("createLenraClient", name, `must be ${expected}`, options[name]);
  };
  check(options.appName !== "", "appName", "a non-empty string");
  // ws:// elsewhere than on this machine would send the access token and the data in clear.
  check(
    /^(wss:\/\/|\/|ws:\/\/(localhost|127\.[\d.]+|\[::1\])([:/]|$))/.test(socketEndpoint) ||
      (options.allowInsecureRequests && /^ws:\/\//.test(socketEndpoint)),
    "socketEndpoint",
    "wss://, /-relative, or ws:// on this machine (elsewhere in clear with `allowInsecureRequests: true`)",
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
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 30_000,
    maxJoinAttempts: options.maxJoinAttempts ?? 3,
  };
}
