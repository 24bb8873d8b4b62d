import { type Channel, Socket } from "phoenix";
import { LenraArgumentError } from "./errors.ts";
import type { Log } from "./logger.ts";
import { probeUpgrade, RefusalCheck } from "./refusal-check.ts";
import { createStore, type ReadableStore } from "./store.ts";

/**
 * Where the socket stands:
 * - `idle`: never asked to connect;
 * - `connecting`: the first attempt is under way;
 * - `open`: connected, views are live;
 * - `reconnecting`: the socket dropped or an attempt failed, and it is retrying;
 * - `unauthorized`: the server kept refusing the access token (HTTP 401 or 403 on the upgrade), so
 *   it stopped retrying until the identity changes (login, logout) or `connect()` is called;
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
  /** Called before every attempt; its result is sent as the `token` param. */
  getAccessToken: () => string | null | undefined | Promise<string | null | undefined>;
  transport: WebSocketConstructor | undefined;
  /** Delay before the n-th attempt in a row (n >= 1). */
  reconnectDelay: (attempt: number) => number;
  rejoinDelay: (attempt: number) => number;
  timeout: number;
  /** How long an upgrade may go unanswered before the attempt is given up. */
  connectTimeout: number;
  /** How often the open socket must hear from the server (a heartbeat is sent to make sure). */
  heartbeatInterval: number;
  log: Log;
  /** Aborted when the client is disposed. */
  signal: AbortSignal;
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
  readonly #dropListeners = new Set<(topic: string | undefined) => void>();
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
  /** A frame arrived since the last heartbeat was sent. */
  #heard = false;
  /** The one timer of the current state: connect timeout, next heartbeat, or next attempt. */
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: ConnectionOptions) {
    this.#options = options;
    this.#refusals = new RefusalCheck(() => this.#probe(), options.onTokenRejected);
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

  /**
   * Calls `listener` with the topic of each frame dropped because it could not be read, or
   * `undefined` when even its topic could not be: that frame may have been a patch, so the views
   * concerned resync. Returns the function that stops it.
   */
  onFrameDropped(listener: (topic: string | undefined) => void): () => void {
    this.#dropListeners.add(listener);
    return () => this.#dropListeners.delete(listener);
  }

  /**
   * Connects the socket; does nothing when it is already connected or connecting. After
   * `unauthorized`, tries again.
   */
  connect(): void {
    if (this.#wanted && this.#store.getSnapshot().status !== "unauthorized") return;
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
   * token anew: used when the identity changes (login, logout). The old socket closes at once,
   * before the new token is read: a channel joined meanwhile waits for the new socket rather
   * than joining as the old identity.
   */
  reconnect(): void {
    if (!this.#wanted) return;
    this.#refusals.reset();
    this.#store.update({ status: "reconnecting", nextRetryAt: undefined });
    void this.#try();
    this.#socket?.disconnect();
  }

  /**
   * Closes the socket and then leaves every channel, which clears phoenix's join and rejoin
   * timers: closing first makes the leaves complete at once, without waiting for a reply.
   */
  async dispose(): Promise<void> {
    await this.disconnect();
    for (const channel of this.#channels) channel.leave();
  }

  /** Forgets the attempt under way, its timer and its retry. */
  #stop() {
    this.#attempt += 1;
    this.#live = 0;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * One attempt: resolves the token, ends what is left of the previous connection (phoenix opens
   * the new one at once: a dead socket's close may take long), opens, and gives the upgrade
   * `connectTimeout` to be answered.
   */
  async #try() {
    this.#stop();
    this.#store.update({ nextRetryAt: undefined });
    const attempt = this.#attempt;
    let token: string | undefined;
    try {
      token = (await this.#options.getAccessToken()) ?? undefined;
    } catch {
      if (attempt === this.#attempt) this.#lost("Could not get an access token");
      return;
    }
    if (attempt !== this.#attempt) return;
    this.#token = token;
    this.#socket ??= this.#createSocket();
    this.#socket.disconnect();
    this.#live = attempt;
    this.#opened = false;
    this.#socket.connect();
    this.#timer = setTimeout(() => this.#lost("Upgrade timed out"), this.#options.connectTimeout);
  }

  /**
   * The live connection is given up (a hung upgrade, a silent socket): it is an outage, never a
   * refusal. Its views turn stale now, and the next attempt follows one backoff step later.
   */
  #lost(why: string) {
    this.#options.log.warn(`${why}; reconnecting`);
    this.#live = 0;
    this.#socket?.disconnect();
    this.#failed();
    this.#schedule();
  }

  /** Sends a heartbeat each interval; an interval without any frame from the server ends the socket. */
  #beat(socket: Socket) {
    this.#timer = setTimeout(() => {
      if (!this.#heard) return this.#lost("Heartbeat missed");
      this.#heard = false;
      socket.ping(() => {});
      this.#beat(socket);
    }, this.#options.heartbeatInterval);
  }

  /** Whether the server accepts the same upgrade without the token: then the token is what it refuses. */
  #probe(): Promise<boolean> {
    // Asked after a failed attempt, so the socket exists.
    const url = new URL((this.#socket as Socket).endPointURL());
    url.searchParams.delete("token");
    const { connectTimeout, signal } = this.#options;
    return probeUpgrade(url.href, this.#transport(), connectTimeout, signal);
  }

  #transport(): WebSocketConstructor {
    const transport =
      this.#options.transport ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!transport) {
      throw new LenraArgumentError({
        message:
          'No WebSocket implementation found: pass the `transport` option (for Node, `import { WebSocket } from "ws"`).',
      });
    }
    return transport;
  }

  /**
   * Phoenix's decoder, guarded: a frame that is not a Phoenix frame is logged and dropped (the
   * views it may concern resync), an unknown reply status becomes an `error` reply so the push
   * it answers settles, and nothing thrown while handling a frame reaches the app.
   */
  #decode(raw: unknown, deliver: (message: object) => void) {
    this.#heard = true;
    let topic: unknown;
    try {
      // Throws on what is not JSON (a binary frame too) and on JSON that is not a list.
      const frame = JSON.parse(raw as string);
      const [join_ref, ref, , event, payload] = frame;
      topic = frame[2];
      if (
        frame.length !== 5 ||
        typeof topic !== "string" ||
        typeof event !== "string" ||
        (event === "phx_reply" && typeof payload?.status !== "string")
      ) {
        throw new TypeError("not a Phoenix frame");
      }
      // A reply status phoenix has no hook for would leave its push waiting forever: an error.
      if (event === "phx_reply" && payload.status !== "ok") payload.status = "error";
      deliver({ join_ref, ref, topic, event, payload });
    } catch (error) {
      // The error's name only: a message may quote the frame, which holds view data.
      this.#options.log.warn("Dropped a frame; resyncing", { error: (error as Error).name });
      for (const listener of [...this.#dropListeners]) {
        listener(typeof topic === "string" ? topic : undefined);
      }
    }
  }

  #failed() {
    const { attempt } = this.#store.getSnapshot();
    this.#store.update({ status: "reconnecting", attempt: attempt + 1, nextRetryAt: undefined });
  }

  #schedule() {
    const delay = this.#options.reconnectDelay(this.#store.getSnapshot().attempt);
    this.#store.update({ nextRetryAt: Date.now() + delay });
    this.#timer = setTimeout(() => void this.#try(), delay);
  }

  /** The live attempt's socket closed: retry, or stop when the server keeps refusing the token. */
  async #closed(socket: Socket) {
    const attempt = this.#attempt;
    const refused = !this.#opened && this.#token !== undefined;
    this.#live = 0;
    clearTimeout(this.#timer);
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
    const socket = new Socket(options.endpoint, {
      transport: this.#transport() as never,
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
      decode: (raw: unknown, deliver: (message: object) => void) => this.#decode(raw, deliver),
      // The connection sends the heartbeats itself (see #beat): phoenix's own heartbeat timeout
      // closes the socket without a close event, so the status would never hear of it.
      heartbeatIntervalMs: 2 ** 31 - 1,
    });
    socket.onOpen(() => {
      if (this.#live !== this.#attempt) return;
      clearTimeout(this.#timer);
      this.#opened = true;
      this.#heard = true;
      this.#refusals.reset();
      this.#store.set({ status: "open", attempt: 0, nextRetryAt: undefined });
      this.#beat(socket);
    });
    socket.onClose(() => {
      if (this.#live === this.#attempt) void this.#closed(socket);
    });
    // A tab coming back into view retries now rather than at the end of its backoff.
    if (typeof document !== "undefined") {
      document.addEventListener(
        "visibilitychange",
        () => {
          if (
            document.visibilityState === "visible" &&
            this.#store.getSnapshot().nextRetryAt !== undefined
          ) {
            void this.#try();
          }
        },
        { signal: options.signal },
      );
    }
    return socket;
  }
}
