import { Auth, type AuthController, createGuestAuth, type LenraAuth } from "./auth/auth.ts";
import { type LenraOAuthOptions, readAuthOptions } from "./auth/options.ts";
import {
  Connection,
  type ConnectionState,
  probeHttp,
  type WebSocketConstructor,
} from "./connection.ts";
import { LenraJoinError } from "./errors.ts";
import { createLog, type LenraLogger } from "./logger.ts";
import type { ReadableStore } from "./store.ts";
import { type LenraView, RouteView, type ViewContext } from "./view.ts";

/** The development socket endpoint of a local Lenra. */
export const DEFAULT_SOCKET_ENDPOINT = "ws://localhost:4001/socket";

type Params = Record<string, unknown>;

export interface LenraClientOptions {
  /**
   * The OAuth 2.0 client id registered for the app. Without it the app is guest-only and
   * `auth.login()` is unavailable.
   */
  clientId?: string;
  /** How login works; see {@link LenraOAuthOptions}. Used only with a `clientId`. */
  oauth?: LenraOAuthOptions;
  /** The `fetch` used for OAuth requests. Defaults to the global `fetch`. */
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
   * every connection attempt, so it can refresh an expiring token first. With a `clientId` the
   * built-in login provides it; set it only when you manage tokens elsewhere (without `clientId`).
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
  /** Login state and actions. Guest-only (no login) without a `clientId`. */
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
}

const REJOIN_DELAYS = [500, 1000, 2000, 5000];
const RECONNECT_DELAYS = [100, 250, 500, 1000, 2000, 5000];

/** Creates a client. Nothing is connected and no browser API is touched until a view is used. */
export function createLenraClient(options: LenraClientOptions = {}): LenraClient {
  const settings = readOptions(options);
  const log = createLog(options.logger);
  let explicitlyDisconnected = false;
  const views = new Map<string, RouteView>();

  const auth: AuthController =
    options.clientId === undefined
      ? createGuestAuth()
      : new Auth(readAuthOptions(options.clientId, options.oauth), {
          log,
          fetch: options.fetch,
          onIdentityChange: ({ clearData, disconnect }) => {
            // The previous identity's data must not stay on screen under the new one.
            if (clearData) for (const view of views.values()) view.clearData();
            if (disconnect) {
              explicitlyDisconnected = true;
              void connection.disconnect();
            } else {
              connection.reconnect();
            }
          },
        });

  const connection = new Connection({
    endpoint: settings.socketEndpoint,
    params: () => {
      const params: Params = { ...resolve(options.params) };
      if (options.appName !== undefined) params.app = options.appName;
      const context = resolve(options.context);
      if (Object.keys(context).length > 0) params.context = context;
      return params;
    },
    getAccessToken:
      options.getAccessToken ??
      (options.clientId === undefined ? undefined : () => auth.tokenForConnection()),
    onTokenRejected: () => auth.onTokenRejected(),
    onUnauthorized: () => auth.markUnauthorized(),
    probe: (url) => probeHttp(url, options.fetch),
    transport: options.transport,
    // A little jitter keeps a crowd of clients from reconnecting in lockstep after an outage.
    reconnectDelay: (attempt) =>
      Math.round(pick(RECONNECT_DELAYS, attempt, 10_000) * (1 + Math.random() * 0.25)),
    rejoinDelay: (attempt) => pick(REJOIN_DELAYS, attempt, 10_000),
    timeout: settings.joinTimeoutMs,
    heartbeatIntervalMs: undefined,
    log,
  });

  const context: ViewContext = {
    connection,
    log,
    ensureConnected: () => {
      if (settings.autoConnect && !explicitlyDisconnected) connection.connect();
    },
    lingerMs: settings.lingerMs,
    listenerTimeoutMs: settings.listenerTimeoutMs,
    joinTimeoutMs: settings.joinTimeoutMs,
    maxJoinAttempts: settings.maxJoinAttempts,
    resyncDelay: (attempt) => (attempt <= 1 ? 0 : Math.min(30_000, 500 * 2 ** (attempt - 2))),
  };

  let pendingRoutes: Promise<JsonRoute[]> | undefined;

  return {
    connection: connection.state,
    auth,
    view<T>(path: string): LenraView<T> {
      if (typeof path !== "string" || !path.startsWith("/")) {
        throw new TypeError(
          `view(path): the path must be a string starting with "/", got ${describe(path)}.`,
        );
      }
      let view = views.get(path);
      if (!view) {
        view = new RouteView(path, context);
        views.set(path, view);
      }
      return view as unknown as LenraView<T>;
    },
    routes() {
      // Two joins of one topic on one socket close each other: concurrent callers share one.
      pendingRoutes ??= fetchRoutes(connection, settings.joinTimeoutMs, context).finally(() => {
        pendingRoutes = undefined;
      });
      return pendingRoutes;
    },
    connect() {
      explicitlyDisconnected = false;
      connection.connect();
    },
    disconnect() {
      explicitlyDisconnected = true;
      return connection.disconnect();
    },
  };
}

function fetchRoutes(connection: Connection, timeoutMs: number, context: ViewContext) {
  context.ensureConnected();
  return new Promise<JsonRoute[]>((resolve, reject) => {
    const channel = connection.socket.channel("routes", { mode: "json" });
    channel
      .join(timeoutMs)
      .receive("ok", (response: { jsonRoutes?: JsonRoute[] } | undefined) => {
        channel.leave();
        resolve(Array.isArray(response?.jsonRoutes) ? response.jsonRoutes : []);
      })
      .receive("error", (response: { message?: string; reason?: string } | undefined) => {
        channel.leave();
        reject(
          new LenraJoinError("routes", {
            message: response?.message ?? "The server refused the routes topic",
            reason: response?.reason ?? "unknown",
          }),
        );
      })
      .receive("timeout", () => {
        channel.leave();
        reject(
          new LenraJoinError("routes", { message: "No reply from the server", reason: "timeout" }),
        );
      });
  });
}

function resolve(value: Params | (() => Params) | undefined): Params {
  return (typeof value === "function" ? value() : value) ?? {};
}

function pick(delays: readonly number[], attempt: number, fallback: number): number {
  return delays[attempt - 1] ?? fallback;
}

function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : typeof value;
}

function readOptions(options: LenraClientOptions) {
  if (options === null || typeof options !== "object") {
    throw new TypeError("createLenraClient(options): options must be an object.");
  }
  const { appName, socketEndpoint = DEFAULT_SOCKET_ENDPOINT } = options;
  if (appName !== undefined && (typeof appName !== "string" || appName === "")) {
    throw new TypeError(
      `createLenraClient: \`appName\` must be a non-empty string, got ${describe(appName)}.`,
    );
  }
  if (typeof socketEndpoint !== "string" || !/^(wss?:\/\/|\/)/.test(socketEndpoint)) {
    throw new TypeError(
      `createLenraClient: \`socketEndpoint\` must be a ws://, wss:// or /-relative URL, got ${describe(socketEndpoint)}.`,
    );
  }
  for (const name of ["context", "params"] as const) {
    const value = options[name];
    if (
      value !== undefined &&
      typeof value !== "function" &&
      (typeof value !== "object" || value === null)
    ) {
      throw new TypeError(
        `createLenraClient: \`${name}\` must be an object or a function returning one.`,
      );
    }
  }
  if (options.clientId !== undefined && options.getAccessToken !== undefined) {
    throw new TypeError(
      "createLenraClient: give either `clientId` (built-in login) or `getAccessToken` (your own tokens), not both.",
    );
  }
  if (options.clientId === undefined && options.oauth !== undefined) {
    throw new TypeError("createLenraClient: `oauth` needs a `clientId`.");
  }
  for (const name of ["transport", "getAccessToken", "fetch"] as const) {
    if (options[name] !== undefined && typeof options[name] !== "function") {
      throw new TypeError(`createLenraClient: \`${name}\` must be a function.`);
    }
  }
  const number = (name: keyof LenraClientOptions, fallback: number, min: number) => {
    const value = options[name] ?? fallback;
    if (typeof value !== "number" || !Number.isFinite(value) || value < min) {
      throw new TypeError(
        `createLenraClient: \`${name}\` must be a number >= ${min}, got ${describe(value)}.`,
      );
    }
    return value;
  };
  return {
    socketEndpoint: socketEndpoint.replace(/\/+$/, ""),
    autoConnect: options.autoConnect ?? true,
    lingerMs: number("lingerMs", 2000, 0),
    listenerTimeoutMs: number("listenerTimeoutMs", 10_000, 1),
    joinTimeoutMs: number("joinTimeoutMs", 10_000, 1),
    maxJoinAttempts: number("maxJoinAttempts", 3, 1),
  };
}
