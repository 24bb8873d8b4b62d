import { type Channel, Socket } from "phoenix";
import { LenraArgumentError } from "./errors.ts";
import type { Log } from "./logger.ts";
import { RefusalCheck } from "./refusal-check.ts";
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

/** What `client.connection.getSnapshot()` returns. */
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
  /** Called before every attempt; its result is sent as the `token` param. */
  getAccessToken: () => string | null | undefined | Promise<string | null | undefined>;
  transport: WebSocketConstructor | undefined;
  /** Delay before the n-th attempt in a row (n >= 1). */
  reconnectDelay: (attempt: number) => number;
  rejoinDelay: (attempt: number) => number;
  timeout: number;
  log: Log;
  /** Aborted when the client is disposed. */
  signal: AbortSignal;
  /** Checks that the socket's server answers at all, to tell a refused token from a server down. */
  probe: () => Promise<boolean>;
  /** The server seems to refuse the token: returns true when a new token is ready to try. */
  onTokenRejected: () => Promise<boolean>;
  /** The server still refused after a fresh token: the connection stopped retrying. */
  onUnauthorized: () => void;
}

const IDLE: ConnectionState = Object.freeze({
  status: "idle",
  attempt: 0,
  nextRetryAt: undefined,
});

// Phoenix uses its session storage only to remember a long-poll fallback, which is never
// enabled here: this one keeps it from touching the page's storage at all (sandboxed frames throw).
const NO_STORAGE = Object.freeze({
  getItem: () => null,
  setItem() {},
  removeItem() {},
});

/**
 * The client's single phoenix Socket, and the attempts to connect it. Each attempt resolves the
 * access token first, so every (re)connect carries the current token: the connection drives the
 * retries itself rather than phoenix, whose own reconnect would reuse the params it has.
 *
 * The socket is created on first use, never at construction: the phoenix client registers window
 * listeners in its constructor, and nothing may touch `window` before the app asks for a
 * connection (server-side rendering).
 */
export class Connection {
  readonly state: ReadableStore<ConnectionState>;
  readonly #store = createStore(IDLE);
  readonly #options: ConnectionOptions;
  readonly #refusals: RefusalCheck;
  readonly #openListeners = new Set<() => void>();
  /** Every channel not closed yet, to leave them all on `dispose()`. */
  readonly #channels = new Set<Channel>();
  #socket: Socket | undefined;
  #token: string | undefined;
  /** Counts attempts: a step of an attempt that a newer one (or `disconnect()`) replaced does nothing. */
  #attempt = 0;
  /** The attempt whose connection phoenix holds, or 0 when none: closes of others are ours. */
  #live = 0;
  /** Whether the live attempt's socket opened. */
  #opened = false;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: ConnectionOptions) {
    this.#options = options;
    this.#refusals = new RefusalCheck(options.probe, options.onTokenRejected);
    this.state = { subscribe: this.#store.subscribe, getSnapshot: this.#store.getSnapshot };
  }

  /** Whether the app wants the socket connected: from `connect()` to `disconnect()`. */
  get #wanted(): boolean {
    const { status } = this.#store.getSnapshot();
    return status !== "idle" && status !== "closed";
  }

  /** A channel on the socket (created, not connected, on first use). */
  channel(topic: string, params: object): Channel {
    this.#socket ??= this.#createSocket();
    const channel = this.#socket.channel(topic, params);
    this.#channels.add(channel);
    channel.onClose(() => void this.#channels.delete(channel));
    return channel;
  }

  /** Calls `listener` each time the socket opens; returns the function that stops it. */
  onOpen(listener: () => void): () => void {
    this.#openListeners.add(listener);
    return () => this.#openListeners.delete(listener);
  }

  /** Connects the socket; does nothing when it is already connected or connecting. */
  connect(): void {
    if (this.#wanted) return;
    this.#store.set({ status: "connecting", attempt: 0, nextRetryAt: undefined });
    this.#refusals.reset();
    void this.#try();
  }

  /** Closes the socket for good (until the next `connect()`); views turn stale. */
  disconnect(): Promise<void> {
    this.#stop();
    this.#store.update({ status: "closed", nextRetryAt: undefined });
    return new Promise((resolve) => {
      if (this.#socket) this.#socket.disconnect(resolve);
      else resolve();
    });
  }

  /**
   * Drops the current connection and connects again right away, reading the params and the
   * token anew: used when the identity changes (login, logout).
   */
  reconnect(): void {
    if (!this.#wanted) return;
    this.#refusals.reset();
    this.#store.update({ status: "reconnecting", nextRetryAt: undefined });
    void this.#try();
  }

  /**
   * Closes the socket and then leaves every channel, which clears phoenix's join and rejoin
   * timers: closing first makes the leaves complete at once, without waiting for a reply.
   */
  async dispose(): Promise<void> {
    await this.disconnect();
    for (const channel of this.#channels) channel.leave();
  }

  /** Forgets the attempt under way and its retry. */
  #stop() {
    this.#attempt += 1;
    this.#live = 0;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  /** One attempt: resolves the token, closes what is left of the previous connection, opens. */
  async #try() {
    this.#stop();
    const attempt = this.#attempt;
    let token: string | undefined;
    try {
      token = (await this.#options.getAccessToken()) ?? undefined;
    } catch (error) {
      if (attempt !== this.#attempt) return;
      this.#options.log.warn("No access token; retrying later", {
        error: error instanceof Error ? error.name : typeof error,
      });
      this.#failed();
      this.#schedule();
      return;
    }
    if (attempt !== this.#attempt) return;
    this.#token = token;
    this.#socket ??= this.#createSocket();
    const socket = this.#socket;
    socket.disconnect(() => {
      if (attempt !== this.#attempt) return;
      this.#live = attempt;
      this.#opened = false;
      socket.connect();
    });
  }

  #failed() {
    const { attempt } = this.#store.getSnapshot();
    this.#store.update({ status: "reconnecting", attempt: attempt + 1, nextRetryAt: undefined });
  }

  #schedule() {
    const delay = this.#options.reconnectDelay(this.#store.getSnapshot().attempt);
    this.#store.update({ nextRetryAt: Date.now() + delay });
    this.#retryTimer = setTimeout(() => void this.#try(), delay);
  }

  /** The live attempt's socket closed: retry, or stop when the server keeps refusing the token. */
  async #closed(socket: Socket) {
    const attempt = this.#attempt;
    const refused = !this.#opened && this.#token !== undefined;
    this.#live = 0;
    // Phoenix schedules its own reconnect, with the params it has: stop it.
    socket.disconnect();
    this.#failed();
    const verdict = refused
      ? await this.#refusals.refused(() => attempt !== this.#attempt)
      : "retry";
    if (attempt !== this.#attempt) return;
    if (verdict === "retry") {
      this.#schedule();
      return;
    }
    this.#options.log.warn("Token refused; stopped reconnecting");
    this.#store.update({ status: "unauthorized", nextRetryAt: undefined });
    this.#options.onUnauthorized();
  }

  #createSocket(): Socket {
    const options = this.#options;
    const transport =
      options.transport ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!transport) {
      throw new LenraArgumentError({
        message:
          'No WebSocket implementation found: pass the `transport` option (for Node, `import { WebSocket } from "ws"`).',
      });
    }
    const socket = new Socket(options.endpoint, {
      transport: transport as never,
      params: () => {
        const params: Record<string, unknown> = {};
        for (const [key, value] of Object.entries(options.params())) {
          if (value !== undefined && value !== null) params[key] = value;
        }
        if (this.#token) params.token = this.#token;
        return params;
      },
      timeout: options.timeout,
      rejoinAfterMs: options.rejoinDelay,
      sessionStorage: NO_STORAGE,
    });
    socket.onOpen(() => {
      if (this.#live !== this.#attempt) return;
      this.#opened = true;
      this.#refusals.reset();
      this.#store.set({ status: "open", attempt: 0, nextRetryAt: undefined });
      for (const listener of [...this.#openListeners]) listener();
    });
    socket.onClose((event) => {
      if (this.#live !== this.#attempt) return;
      options.log.debug("Socket closed", { code: (event as { code?: number } | undefined)?.code });
      void this.#closed(socket);
    });
    // A tab coming back into view retries now rather than at the end of its backoff.
    if (typeof document !== "undefined") {
      document.addEventListener(
        "visibilitychange",
        () => {
          if (document.visibilityState === "visible" && this.#retryTimer !== undefined) {
            void this.#try();
          }
        },
        { signal: options.signal },
      );
    }
    return socket;
  }
}
