import { Socket } from "phoenix";
import type { Log } from "./logger.ts";
import { createStore, type ReadableStore } from "./store.ts";

/**
 * Where the socket stands:
 * - `idle`: never asked to connect;
 * - `connecting`: the first attempt is under way;
 * - `open`: connected, views are live;
 * - `reconnecting`: the socket dropped or an attempt failed, and it is retrying;
 * - `closed`: `disconnect()` was called.
 */
export type ConnectionStatus = "idle" | "connecting" | "open" | "reconnecting" | "closed";

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
  getAccessToken: (() => string | null | undefined | Promise<string | null | undefined>) | undefined;
  transport: WebSocketConstructor | undefined;
  reconnectDelay: (attempt: number) => number;
  rejoinDelay: (attempt: number) => number;
  timeout: number;
  heartbeatIntervalMs: number | undefined;
  log: Log;
}

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
    this.#store.update({ status: "reconnecting", nextRetryAt: undefined });
    socket.disconnect(() => {
      if (this.#wanted) socket.connect();
    });
  }

  #createSocket(): Socket {
    const options = this.#options;
    const transport = options.transport ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!transport) {
      throw new TypeError(
        "No WebSocket implementation found: pass the `transport` option (for Node, `import { WebSocket } from \"ws\"`).",
      );
    }
    // Phoenix reconnects by calling `this.connect()`; the override below resolves the access
    // token first, so every (re)connect carries the current token.
    const connection = this;
    class TokenSocket extends Socket {
      #preparing = false;

      override connect(): void {
        if (this.#preparing) return;
        this.#preparing = true;
        const clock = (this as unknown as SocketInternals).connectClock;
        connection.#resolveToken().then(
          () => {
            this.#preparing = false;
            // A disconnect() while the token was resolved wins over this attempt.
            if (clock !== (this as unknown as SocketInternals).connectClock || !connection.#wanted) return;
            super.connect();
          },
          (error: unknown) => {
            this.#preparing = false;
            connection.#onAttemptFailed();
            options.log.warn("Could not get an access token; retrying later", {
              error: error instanceof Error ? error.name : typeof error,
            });
            const delay = connection.#scheduledDelay();
            setTimeout(() => {
              if (clock === (this as unknown as SocketInternals).connectClock && connection.#wanted) {
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
      this.#store.update({ status: "open", attempt: 0, nextRetryAt: undefined });
      for (const listener of [...this.#openListeners]) listener();
    });
    socket.onClose((event) => {
      if (!this.#wanted) return;
      options.log.debug("Socket closed", { code: (event as { code?: number } | undefined)?.code });
      this.#onAttemptFailed();
    });
    return socket;
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
