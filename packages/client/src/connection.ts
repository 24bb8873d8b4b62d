import { Socket } from "phoenix";
import type { Log } from "./logger.ts";
import { createStore, type ReadableStore } from "./store.ts";

/**
 * Where the socket stands:
 * - `idle`: never asked to connect;
 * - `connecting`: the first attempt is under way;
 * - `open`: connected, views are live;
 * - `reconnecting`: the socket dropped or an attempt failed, and it is retrying;
 * - `unauthorized`: the server kept refusing the access token, so it stopped retrying until
 *   the identity changes (login, logout);
 * - `closed`: `disconnect()` was called.
 */
export type ConnectionStatus =
  | "idle"
  | "connecting"
  | "open"
  | "reconnecting"
  | "unauthorized"
  | "closed";

export interface ConnectionState {
  readonly status: ConnectionStatus;
  /** Consecutive failed attempts since the socket was last open. */
  readonly attempt: number;
  /** When the next attempt is due (epoch milliseconds), while `reconnecting`. */
  readonly nextRetryAt: number | undefined;
}

/** A WebSocket constructor, such as the browser's `WebSocket` or the `ws` package's. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => object;

export interface ConnectionOptions {
  endpoint: string;
  /** The socket params of the next connect, read on every (re)connect. */
  params: () => Record<string, unknown>;
  /** Called before every (re)connect; its result is sent as the `token` param. */
  getAccessToken:
    | (() => string | null | undefined | Promise<string | null | undefined>)
    | undefined;
  transport: WebSocketConstructor | undefined;
  reconnectDelay: (attempt: number) => number;
  rejoinDelay: (attempt: number) => number;
  timeout: number;
  heartbeatIntervalMs: number | undefined;
  log: Log;
  /**
   * The server seems to refuse the token (the socket keeps closing before it opens while the
   * server answers HTTP): returns true when a new token is ready to try.
   */
  onTokenRejected: () => Promise<boolean>;
  /** The server still refused after a fresh token: the connection stopped retrying. */
  onUnauthorized: () => void;
  /** Checks that the socket's server answers at all, to tell a refused token from a server down. */
  probe: (httpUrl: string) => Promise<boolean>;
}

/** Closes before the socket opened, with a token, before we suspect the token. */
const REFUSALS_BEFORE_SUSPICION = 3;

// Phoenix reads sessionStorage only to remember a long-poll fallback, which we never use; an
// in-memory store keeps it from touching storage at all (and from throwing in sandboxed frames).
function createMemoryStorage() {
  const items = new Map<string, string>();
  return {
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
  };
}

/** Internals of the phoenix Socket that its typings do not declare. */
interface SocketInternals {
  connectClock: number;
}

/**
 * The client's single phoenix Socket. The socket is created on the first `connect()`, never at
 * construction: the phoenix client registers window listeners in its constructor, and nothing
 * may touch `window` before the app asks for a connection (server-side rendering).
 */
export class Connection {
  readonly state: ReadableStore<ConnectionState>;
  readonly #store = createStore<ConnectionState>({
    status: "idle",
    attempt: 0,
    nextRetryAt: undefined,
  });
  readonly #options: ConnectionOptions;
  #socket: Socket | undefined;
  #token: string | undefined;
  #openListeners = new Set<() => void>();
  #wanted = false;
  /** Set when the current attempt opened; reset by each attempt. */
  #opened = false;
  /** Consecutive attempts that closed before opening while sending a token. */
  #refusals = 0;
  #refreshedAfterRefusals = false;
  #checkingRefusal = false;
  /** Counts `reconnect()` calls: an identity change ends any refusal check under way. */
  #identity = 0;

  constructor(options: ConnectionOptions) {
    this.#options = options;
    this.state = { subscribe: this.#store.subscribe, getSnapshot: this.#store.getSnapshot };
  }

  /** The phoenix socket, created (not connected) on first use. */
  get socket(): Socket {
    this.#socket ??= this.#createSocket();
    return this.#socket;
  }

  get isOpen(): boolean {
    return this.#store.getSnapshot().status === "open";
  }

  /** Whether the app wants the socket connected (between `connect()` and `disconnect()`). */
  get wanted(): boolean {
    return this.#wanted;
  }

  /** Calls `listener` each time the socket opens; returns the function that stops it. */
  onOpen(listener: () => void): () => void {
    this.#openListeners.add(listener);
    return () => this.#openListeners.delete(listener);
  }

  /** Connects the socket; does nothing when it is already connected or connecting. */
  connect(): void {
    if (this.#wanted) return;
    this.#wanted = true;
    this.#store.update({ status: "connecting", attempt: 0, nextRetryAt: undefined });
    this.socket.connect();
  }

  /** Closes the socket for good (until the next `connect()`); views turn stale. */
  disconnect(): Promise<void> {
    this.#wanted = false;
    this.#store.update({ status: "closed", nextRetryAt: undefined });
    const socket = this.#socket;
    if (!socket) return Promise.resolve();
    return new Promise((resolve) => socket.disconnect(() => resolve()));
  }

  /**
   * Drops the current connection and connects again right away, reading the params and the
   * token anew: used when the identity changes (login, logout).
   */
  reconnect(): void {
    if (!this.#wanted) return;
    const socket = this.socket;
    this.#identity += 1;
    this.#refusals = 0;
    this.#refreshedAfterRefusals = false;
    this.#store.update({ status: "reconnecting", nextRetryAt: undefined });
    socket.disconnect(() => {
      if (this.#wanted) socket.connect();
    });
  }

  #createSocket(): Socket {
    const options = this.#options;
    const transport =
      options.transport ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!transport) {
      throw new TypeError(
        'No WebSocket implementation found: pass the `transport` option (for Node, `import { WebSocket } from "ws"`).',
      );
    }
    // Phoenix reconnects by calling `this.connect()`; the override below resolves the access
    // token first, so every (re)connect carries the current token.
    const connection = this;
    class TokenSocket extends Socket {
      #preparing = false;
      /** `connect()` was called again while the token was being resolved. */
      #again = false;

      override connect(): void {
        if (this.#preparing) {
          this.#again = true;
          return;
        }
        this.#preparing = true;
        const clock = (this as unknown as SocketInternals).connectClock;
        // A reconnect() (the identity changed) while the token was resolved needs a new
        // attempt with a new token, or nothing connects at all.
        const retried = () => {
          this.#preparing = false;
          const again = this.#again;
          this.#again = false;
          if (again && connection.#wanted) this.connect();
          return again;
        };
        connection.#resolveToken().then(
          () => {
            if (retried()) return;
            // A disconnect() while the token was resolved wins over this attempt.
            if (clock !== (this as unknown as SocketInternals).connectClock || !connection.#wanted)
              return;
            connection.#opened = false;
            super.connect();
          },
          (error: unknown) => {
            if (retried()) return;
            connection.#onAttemptFailed();
            options.log.warn("Could not get an access token; retrying later", {
              error: error instanceof Error ? error.name : typeof error,
            });
            const delay = connection.#scheduledDelay();
            setTimeout(() => {
              if (
                clock === (this as unknown as SocketInternals).connectClock &&
                connection.#wanted
              ) {
                this.connect();
              }
            }, delay);
          },
        );
      }
    }

    const socket = new TokenSocket(options.endpoint, {
      transport: transport as never,
      params: () => this.#socketParams(),
      timeout: options.timeout,
      ...(options.heartbeatIntervalMs ? { heartbeatIntervalMs: options.heartbeatIntervalMs } : {}),
      reconnectAfterMs: (tries: number) => {
        const delay = options.reconnectDelay(tries);
        this.#store.update({ nextRetryAt: Date.now() + delay });
        return delay;
      },
      rejoinAfterMs: options.rejoinDelay,
      sessionStorage: createMemoryStorage(),
    });
    socket.onOpen(() => {
      options.log.debug("Socket open");
      this.#opened = true;
      this.#refusals = 0;
      this.#refreshedAfterRefusals = false;
      this.#store.update({ status: "open", attempt: 0, nextRetryAt: undefined });
      for (const listener of [...this.#openListeners]) listener();
    });
    socket.onClose((event) => {
      if (!this.#wanted || this.#store.getSnapshot().status === "unauthorized") return;
      options.log.debug("Socket closed", { code: (event as { code?: number } | undefined)?.code });
      this.#onAttemptFailed();
      if (!this.#opened && this.#token) {
        this.#refusals += 1;
        if (this.#refusals >= REFUSALS_BEFORE_SUSPICION) void this.#checkRefusal(socket);
      }
    });
    return socket;
  }

  /**
   * A refused websocket upgrade (HTTP 403 for a bad token) looks exactly like a server that is
   * down: the browser reports close code 1006 either way. When the server answers plain HTTP,
   * the token is the problem: refresh it once, and if the server still refuses, stop retrying
   * instead of looping forever.
   */
  async #checkRefusal(socket: Socket) {
    if (this.#checkingRefusal) return;
    this.#checkingRefusal = true;
    const identity = this.#identity;
    // Moot once the socket opened, the app disconnected, or the identity changed meanwhile
    // (a refused refresh ends the session: the socket then reconnects as a guest).
    const moot = () => !this.#wanted || this.#opened || identity !== this.#identity;
    try {
      const reachable = await this.#options.probe(httpUrlOf(this.#options.endpoint));
      if (moot()) return;
      if (!reachable) {
        this.#refusals = 0;
        return;
      }
      if (!this.#refreshedAfterRefusals) {
        this.#refreshedAfterRefusals = true;
        this.#options.log.debug("The server refuses the socket's token; refreshing it");
        const refreshed = await this.#options.onTokenRejected();
        if (moot()) return;
        if (refreshed) {
          this.#refusals = 0;
          return;
        }
      }
      this.#options.log.warn("The server refuses the access token; stopped reconnecting");
      this.#store.update({ status: "unauthorized", nextRetryAt: undefined });
      socket.disconnect();
      this.#options.onUnauthorized();
    } finally {
      this.#checkingRefusal = false;
    }
  }

  #onAttemptFailed() {
    const { attempt } = this.#store.getSnapshot();
    this.#store.update({ status: "reconnecting", attempt: attempt + 1 });
  }

  #scheduledDelay(): number {
    const delay = this.#options.reconnectDelay(this.#store.getSnapshot().attempt);
    this.#store.update({ nextRetryAt: Date.now() + delay });
    return delay;
  }

  async #resolveToken(): Promise<void> {
    const getAccessToken = this.#options.getAccessToken;
    this.#token = getAccessToken ? ((await getAccessToken()) ?? undefined) : undefined;
  }

  #socketParams(): Record<string, unknown> {
    const params: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(this.#options.params())) {
      if (value !== undefined && value !== null) params[key] = value;
    }
    if (this.#token) params.token = this.#token;
    return params;
  }
}

/** The HTTP URL of the socket endpoint's websocket path, for a reachability check. */
export function httpUrlOf(endpoint: string): string {
  const base = endpoint.replace(/^ws(s?):\/\//, "http$1://");
  return `${base}/websocket`;
}

/** Whether anything answers HTTP at `url`: a response of any status means the server is up. */
export async function probeHttp(
  url: string,
  fetchImpl: typeof fetch | undefined,
): Promise<boolean> {
  const doFetch = fetchImpl ?? globalThis.fetch;
  if (typeof doFetch !== "function") return true;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 3000);
  try {
    // `no-cors`: only reachability matters, and the socket server need not allow our origin.
    await doFetch(url, {
      mode: "no-cors",
      cache: "no-store",
      signal: controller.signal,
      credentials: "omit",
    });
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
