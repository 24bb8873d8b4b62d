import { type Channel, Socket } from "phoenix";
import type { AuthController } from "./auth-state.ts";
import { LenraArgumentError } from "./errors.ts";
import type { Log } from "./logger.ts";
import { createRefusalCheck, probeUpgrade } from "./refusal-check.ts";
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

/** What the connection takes from the client: its checked options, and the token's source. */
export interface ConnectionOptions {
  /** The socket endpoint, checked, without a trailing slash. */
  socketEndpoint: string;
  /** The socket params of the next connect, read on every (re)connect. */
  params: () => Record<string, unknown>;
  /** Called before every attempt; its result is sent as the `token` param. */
  getAccessToken: () => string | null | undefined | Promise<string | null | undefined>;
  transport: WebSocketConstructor | undefined;
  /** How long a join waits for its reply before phoenix joins again. */
  joinTimeoutMs: number;
  /** How long an upgrade may go unanswered before the attempt is given up. */
  connectTimeoutMs: number;
  /** How often the open socket must hear from the server (a heartbeat is sent to make sure). */
  heartbeatIntervalMs: number;
  log: Log;
  /** Aborted when the client is disposed. */
  signal: AbortSignal;
  /**
   * The login: `onTokenRejected()` when the server seems to refuse the token (true when a new
   * one is ready to try), `markUnauthorized()` when it still refuses after a fresh one.
   */
  auth: Pick<AuthController, "onTokenRejected" | "markUnauthorized">;
}

/**
 * The delay before the n-th attempt in a row (n >= 1): 0.1 s, 0.25 s, 0.6 s, 1.6 s, then 2 s, so
 * a page is live again within 5 s of its server's restart. A little jitter keeps a crowd of
 * clients from reconnecting in lockstep.
 */
const reconnectDelay = (attempt: number) =>
  Math.round(Math.min(2000, 100 * 2.5 ** (attempt - 1)) * (1 + Math.random() * 0.25));

/** The delay before phoenix joins a channel again after the n-th failed join in a row. */
const rejoinDelay = (attempt: number) => [500, 1000, 2000, 5000][attempt - 1] ?? 10_000;

const IDLE: ConnectionState = Object.freeze({
  status: "idle",
  attempt: 0,
  nextRetryAt: undefined,
});

// Phoenix uses its session storage only to remember a long-poll fallback, which is never
// enabled here: this one keeps it from touching the page's storage at all (sandboxed frames throw).
const NO_STORAGE = {
  getItem: () => null,
  setItem() {},
  removeItem() {},
};

/** The client's connection: the socket's state, its channels, and what the app asks of it. */
export interface Connection {
  readonly state: ReadableStore<ConnectionState>;
  /** A channel on the socket (created, not connected, on first use). */
  channel(topic: string, params: object): Channel;
  /**
   * Calls `listener` with the topic of each frame dropped because it could not be read, or
   * `undefined` when even its topic could not be: that frame may have been a patch, so the views
   * concerned resync. Returns the function that stops it.
   */
  onFrameDropped(listener: (topic: string | undefined) => void): () => void;
  /**
   * Connects the socket; does nothing when it is already connected or connecting. After
   * `unauthorized`, tries again.
   */
  connect(): void;
  /** Closes the socket for good (until the next `connect()`); views turn stale. */
  disconnect(): Promise<void>;
  /**
   * Drops the current connection and connects again right away, reading the params and the
   * token anew: used when the identity changes (login, logout). The old socket closes at once,
   * before the new token is read: a channel joined meanwhile waits for the new socket rather
   * than joining as the old identity.
   */
  reconnect(): void;
  /**
   * Closes the socket and then leaves every channel, which clears phoenix's join and rejoin
   * timers: closing first makes the leaves complete at once, without waiting for a reply.
   */
  dispose(): Promise<void>;
}

/**
 * The client's single phoenix Socket, and the attempts to connect it. Each attempt resolves the
 * access token first, so every (re)connect carries the current token: the connection drives the
 * retries itself rather than phoenix, whose own reconnect would reuse the params it has.
 *
 * The socket is created on first use, never at construction: the phoenix client registers window
 * listeners in its constructor, and nothing may touch `window` before the app asks for a
 * connection (server-side rendering). Its state is local variables (see `applyPatchWith`).
 */
export function createConnection(options: ConnectionOptions): Connection {
  const { log, signal } = options;
  const store = createStore(IDLE);
  const { getSnapshot } = store;
  const refusals = createRefusalCheck(probe, () => options.auth.onTokenRejected());
  const dropListeners = new Set<(topic: string | undefined) => void>();
  /** Every channel not closed yet, to leave them all on `dispose()`. */
  const channels = new Set<Channel>();
  let socket: Socket | undefined;
  let token: string | undefined;
  /** Counts attempts: a step of an attempt that a newer one (or `disconnect()`) replaced does nothing. */
  let attempt = 0;
  /** The attempt whose connection phoenix holds, or 0 when none: closes of others are ours. */
  let live = 0;
  /** Whether the live attempt's socket opened. */
  let opened = false;
  /** A frame arrived since the last heartbeat was sent. */
  let heard = false;
  /** The one timer of the current state: connect timeout, next heartbeat, or next attempt. */
  let timer: ReturnType<typeof setTimeout> | undefined;

  /** Whether the app wants the socket connected: from `connect()` to `disconnect()`. */
  const wanted = () => {
    const { status } = getSnapshot();
    return status !== "idle" && status !== "closed";
  };

  const disconnect = (): Promise<void> => {
    stop();
    store.update({ status: "closed", nextRetryAt: undefined });
    return new Promise((resolve) => {
      if (socket) socket.disconnect(resolve);
      else resolve();
    });
  };

  return {
    state: { subscribe: store.subscribe, getSnapshot },
    channel(topic, params) {
      socket ??= createSocket();
      const channel = socket.channel(topic, params);
      channels.add(channel);
      channel.onClose(() => void channels.delete(channel));
      return channel;
    },
    onFrameDropped(listener) {
      dropListeners.add(listener);
      return () => dropListeners.delete(listener);
    },
    connect() {
      if (wanted() && getSnapshot().status !== "unauthorized") return;
      store.set({ status: "connecting", attempt: 0, nextRetryAt: undefined });
      refusals.reset();
      void attemptNow();
    },
    disconnect,
    reconnect() {
      if (!wanted()) return;
      refusals.reset();
      store.update({ status: "reconnecting", nextRetryAt: undefined });
      void attemptNow();
      socket?.disconnect();
    },
    async dispose() {
      await disconnect();
      for (const channel of channels) channel.leave();
    },
  };

  /** Forgets the attempt under way, its timer and its retry. */
  function stop() {
    attempt += 1;
    live = 0;
    clearTimeout(timer);
    timer = undefined;
  }

  /**
   * One attempt: resolves the token, ends what is left of the previous connection (phoenix opens
   * the new one at once: a dead socket's close may take long), opens, and gives the upgrade
   * `connectTimeout` to be answered.
   */
  async function attemptNow() {
    stop();
    store.update({ nextRetryAt: undefined });
    const current = attempt;
    let next: string | undefined;
    try {
      next = (await options.getAccessToken()) ?? undefined;
    } catch {
      if (current === attempt) lost("Could not get an access token");
      return;
    }
    if (current !== attempt) return;
    token = next;
    socket ??= createSocket();
    socket.disconnect();
    live = current;
    opened = false;
    socket.connect();
    timer = setTimeout(() => lost("Upgrade timed out"), options.connectTimeoutMs);
  }

  /**
   * The live connection is given up (a hung upgrade, a silent socket): it is an outage, never a
   * refusal. Its views turn stale now, and the next attempt follows one backoff step later.
   */
  function lost(why: string) {
    log.warn?.(`${why}; reconnecting`);
    live = 0;
    socket?.disconnect();
    failed();
    schedule();
  }

  /** Sends a heartbeat each interval; an interval without any frame from the server ends the socket. */
  function beat(open: Socket) {
    timer = setTimeout(() => {
      if (!heard) return lost("Heartbeat missed");
      heard = false;
      open.ping(() => {});
      beat(open);
    }, options.heartbeatIntervalMs);
  }

  /** Whether the server accepts the same upgrade without the token: then the token is what it refuses. */
  function probe(): Promise<boolean> {
    // Asked after a failed attempt, so the socket exists.
    const url = new URL((socket as Socket).endPointURL());
    url.searchParams.delete("token");
    return probeUpgrade(url.href, transport(), options.connectTimeoutMs, signal);
  }

  function transport(): WebSocketConstructor {
    const found =
      options.transport ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!found) {
      throw new LenraArgumentError({
        message:
          'No WebSocket found: pass the `transport` option (in Node, `import { WebSocket } from "ws"`).',
      });
    }
    return found;
  }

  /**
   * Phoenix's decoder, guarded: a frame that is not a Phoenix frame is logged and dropped (the
   * views it may concern resync), an unknown reply status becomes an `error` reply so the push
   * it answers settles, and nothing thrown while handling a frame reaches the app.
   */
  function decode(raw: unknown, deliver: (message: object) => void) {
    heard = true;
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
      log.warn?.("Dropped a frame; resyncing", { error: (error as Error).name });
      for (const listener of [...dropListeners]) {
        listener(typeof topic === "string" ? topic : undefined);
      }
    }
  }

  function failed() {
    store.update({
      status: "reconnecting",
      attempt: getSnapshot().attempt + 1,
      nextRetryAt: undefined,
    });
  }

  function schedule() {
    const delay = reconnectDelay(getSnapshot().attempt);
    store.update({ nextRetryAt: Date.now() + delay });
    timer = setTimeout(() => void attemptNow(), delay);
  }

  /** The live attempt's socket closed: retry, or stop when the server keeps refusing the token. */
  async function closed(closing: Socket) {
    const current = attempt;
    const refused = !opened && token !== undefined;
    live = 0;
    clearTimeout(timer);
    // Phoenix schedules its own reconnect, with the params it has: stop it.
    closing.disconnect();
    failed();
    const verdict = refused ? await refusals.refused(() => current !== attempt) : "retry";
    if (current !== attempt) return;
    if (verdict === "retry") {
      schedule();
      return;
    }
    // No log: the state says it, and the views show it as their error.
    store.update({ status: "unauthorized", nextRetryAt: undefined });
    options.auth.markUnauthorized();
  }

  function createSocket(): Socket {
    const created = new Socket(options.socketEndpoint, {
      transport: transport() as never,
      params: () => {
        const params: Record<string, unknown> = {};
        for (const [key, value] of Object.entries(options.params())) {
          if (value !== undefined && value !== null) params[key] = value;
        }
        if (token) params.token = token;
        return params;
      },
      timeout: options.joinTimeoutMs,
      rejoinAfterMs: rejoinDelay,
      sessionStorage: NO_STORAGE,
      decode,
      // The connection sends the heartbeats itself (see `beat`): phoenix's own heartbeat timeout
      // closes the socket without a close event, so the status would never hear of it. Every 23
      // days is never.
      heartbeatIntervalMs: 2e9,
    });
    created.onOpen(() => {
      if (live !== attempt) return;
      clearTimeout(timer);
      opened = true;
      heard = true;
      refusals.reset();
      store.set({ status: "open", attempt: 0, nextRetryAt: undefined });
      beat(created);
    });
    created.onClose(() => {
      if (live === attempt) void closed(created);
    });
    // A tab coming back into view retries now rather than at the end of its backoff.
    if (typeof document !== "undefined") {
      document.addEventListener(
        "visibilitychange",
        () => {
          if (document.visibilityState === "visible" && getSnapshot().nextRetryAt !== undefined) {
            void attemptNow();
          }
        },
        { signal },
      );
    }
    return created;
  }
}
