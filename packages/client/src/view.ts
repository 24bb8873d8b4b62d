import type { Channel, Push } from "phoenix";
import type { Connection } from "./connection.ts";
import {
  APP_FAILURE_REASON,
  LenraError,
  LenraJoinError,
  LenraListenerError,
  LenraListenerTimeoutError,
  LenraRouteError,
  readServerErrorDetail,
  readServerErrorDetails,
} from "./errors.ts";
import { createHydrator, type Hydrated } from "./listener.ts";
import type { Log } from "./logger.ts";
import type { JsonPatchOperation } from "./patch.ts";
import { createStore, type ReadableStore, until } from "./store.ts";

/** Where a view stands; see {@link ViewState.status}. */
export type ViewStatus = "pending" | "success" | "error";

/** What a view shows at one moment. A new object only when something in it changed. */
export interface ViewState<T = unknown> {
  /**
   * `pending` until the first document arrives, `success` once there is data, `error` without
   * data: the route reported an error, or the server refused the join `maxJoinAttempts` times in
   * a row (at once when the app's view failed). While a refused join is tried again the view
   * stays `pending`: a refusal may pass, as while the socket changes identity.
   */
  readonly status: ViewStatus;
  /** The document, listener objects turned into functions; `undefined` until it arrives. */
  readonly data: Hydrated<T> | undefined;
  /**
   * The last error: a refused join, an `error` event of the route, a document the client
   * refused, or a socket the server refuses (`unauthorized`); data is kept when there is some.
   */
  readonly error: LenraError | undefined;
  /** True while the data shown may be out of date: socket down, rejoining, or resyncing. */
  readonly isStale: boolean;
}

/**
 * A route's live JSON document, shared by every consumer of the same path: a store of
 * {@link ViewState}, joined on its first subscriber, left `lingerMs` after its last.
 *
 * @see PROTOCOL.md section 3
 */
export interface LenraView<T = unknown> extends ReadableStore<ViewState<T>> {
  readonly path: string;
  /**
   * Starts over after an error: joins again now after the server refused the route too many
   * times or its view failed, `pending` until the outcome (call it when an error boundary is
   * reset, so that it waits for a fresh attempt rather than showing the old error again).
   *
   * @example
   * ```ts
   * retryButton.onclick = () => view.retry();
   * ```
   */
  retry(): void;
  /**
   * Resolves once the view has data or an error (one it will not get past by itself), keeping it
   * subscribed meanwhile (for Suspense and route loaders). The same promise is returned while it
   * is pending.
   *
   * @example
   * ```ts
   * const { data, error } = await lenra.view("/todos").load();
   * ```
   */
  load(): Promise<ViewState<T>>;
}

/** Options of a listener call made through a view. */
export interface RunOptions {
  /** Applied on top of the server's document until the call settles; see {@link createRouteView}. */
  optimistic?: readonly JsonPatchOperation[];
}

/** An optimistic update shown on top of the server's document while its call runs. */
interface OptimisticLayer {
  readonly patch: readonly JsonPatchOperation[];
  /** The server's document version when the call was sent. */
  readonly version: number;
}

/**
 * How long a confirmed optimistic update stays when the server's matching patch has not arrived
 * yet: the server may reply before it pushes the patch.
 */
const CONFIRMED_LAYER_GRACE_MS = 1000;

export interface ViewContext {
  connection: Connection;
  log: Log;
  /** Connects the socket unless the app disconnected it on purpose. */
  ensureConnected(): void;
  /** Throws once the client is disposed. */
  assertAlive(): void;
  lingerMs: number;
  listenerTimeoutMs: number;
  joinTimeoutMs: number;
  /** Refused joins tried in a row before giving up until the next connection or `retry()`. */
  maxJoinAttempts: number;
}

/** The delay before the n-th resync in a row (n >= 1): none, then 0.5 s doubling up to 30 s. */
const resyncDelay = (attempt: number) =>
  attempt <= 1 ? 0 : Math.min(30_000, 500 * 2 ** (attempt - 2));

const PENDING: ViewState<never> = Object.freeze({
  status: "pending",
  data: undefined,
  error: undefined,
  isStale: false,
});

/** A view as the client holds it: what the app sees, and what the client does to it. */
export interface RouteView<T = unknown> extends LenraView<T> {
  /**
   * The client is disposed: stops every timer, rejects the calls waiting for a reply with
   * `error`, and lets go of the channel (the connection leaves it once the socket is closed).
   */
  dispose(error: LenraError): void;
  /** Forgets the document because the identity behind the socket changed; the channel stays. */
  clearData(): void;
}

/**
 * One route subscription: joins `route:<path>` on the first subscriber, leaves `lingerMs` after
 * the last one, keeps the hydrated document and resyncs (leave + rejoin, which makes the server
 * send a whole `ui`) whenever a patch cannot be applied. Its state is local variables, which a
 * bundle carries as one-letter names (see `applyPatchWith`).
 */
export function createRouteView<T = unknown>(path: string, context: ViewContext): RouteView<T> {
  const { connection, log } = context;
  const store = createStore<ViewState<T>>(PENDING as ViewState<T>, acquire, release);
  const { getSnapshot } = store;
  let hydrator = createHydrator(run);
  let channel: Channel | undefined;
  /** A whole `ui` arrived since the current join: patches can apply. */
  let synced = false;
  let joinFailures = 0;
  let gaveUp = false;
  let resyncFailures = 0;
  let resyncTimer: ReturnType<typeof setTimeout> | undefined;
  let resyncWhenIdle = false;
  let lingerTimer: ReturnType<typeof setTimeout> | undefined;
  /** Timers that drop confirmed optimistic updates; see {@link CONFIRMED_LAYER_GRACE_MS}. */
  const graceTimers = new Set<ReturnType<typeof setTimeout>>();
  /** Listener calls waiting for their reply, each with what settles it. */
  const inFlight = new Map<Push, (error?: LenraError) => void>();
  /** Stops watching the connection; set while the view is acquired. */
  let unwatch: (() => void) | undefined;
  /** The server's document, without optimistic updates. */
  let base: Hydrated<T> | undefined;
  /** Counts the server's documents and patches, to order optimistic updates against them. */
  let version = 0;
  let layers: OptimisticLayer[] = [];
  /** Layers whose call succeeded: the server's next document includes them. */
  const confirmed = new WeakSet<OptimisticLayer>();
  let loading: Promise<ViewState<T>> | undefined;

  const view: RouteView<T> = {
    path,
    getSnapshot,
    subscribe(listener) {
      context.assertAlive();
      return store.subscribe(listener);
    },
    load() {
      context.assertAlive();
      const state = getSnapshot();
      if (state.status !== "pending") return Promise.resolve(state);
      loading ??= until(view, (s) => s.status !== "pending").finally(() => {
        loading = undefined;
      });
      return loading;
    },
    retry,
    dispose(error) {
      clearTimeout(lingerTimer);
      clearTimeout(resyncTimer);
      for (const timer of graceTimers) clearTimeout(timer);
      unwatch?.();
      // Not joined anymore: a subscriber leaving later starts no linger timer.
      unwatch = undefined;
      channel = undefined;
      resyncWhenIdle = false;
      forget();
      // Each call deletes itself as it settles, which a Map's iteration allows.
      for (const settle of inFlight.values()) settle(error);
    },
    clearData() {
      forget();
      synced = false;
      store.set(PENDING as ViewState<T>);
    },
  };
  return view;

  /** Drops the document, its listeners and optimistic updates. */
  function forget() {
    hydrator = createHydrator(run);
    base = undefined;
    layers = [];
  }

  /** The document to show: the server's, with the optimistic updates still pending on top. */
  function shown(): Hydrated<T> | undefined {
    let data = base;
    if (data === undefined) return undefined;
    // Dropping a layer assigns a new list: this loop goes on over the one it started with.
    for (const layer of layers) {
      try {
        data = hydrator.patch(data, layer.patch) as Hydrated<T>;
      } catch {
        // The server's document moved on and the update no longer applies: drop it.
        layers = layers.filter((l) => l !== layer);
      }
    }
    return data;
  }

  function dropLayer(layer: OptimisticLayer) {
    if (!layers.includes(layer)) return;
    layers = layers.filter((l) => l !== layer);
    store.update({ data: shown() });
  }

  function retry(): void {
    context.assertAlive();
    if (!unwatch) return;
    joinFailures = 0;
    gaveUp = false;
    // A view in error starts over with a fresh join (the server renders it anew), pending
    // meanwhile: `load()` and Suspense wait for the outcome rather than the old error.
    if (getSnapshot().status === "error") {
      leave();
      store.set(PENDING as ViewState<T>);
    }
    if (!channel) join();
  }

  function acquire() {
    if (lingerTimer !== undefined) {
      clearTimeout(lingerTimer);
      lingerTimer = undefined;
      return;
    }
    let wasOpen = connection.state.getSnapshot().status === "open";
    const stopState = connection.state.subscribe(() => {
      const { status } = connection.state.getSnapshot();
      // A route refused for this identity may be allowed on the next connection (after login).
      if (status === "open" && !wasOpen && gaveUp) retry();
      wasOpen = status === "open";
      // Stale the moment the socket is in doubt, not when phoenix notices later.
      if (!wasOpen) markStale();
      if (status === "unauthorized") {
        showError(
          new LenraError({
            code: "LENRA_UNAUTHORIZED",
            message:
              "The server refuses the access token: log in again, or call connect() to retry.",
          }),
        );
      }
    });
    // A frame that could not be read may have been one of this route's patches.
    const stopDrops = connection.onFrameDropped((topic) => {
      if (channel && (topic === undefined || topic === channel.topic)) resync();
    });
    unwatch = () => {
      stopState();
      stopDrops();
    };
    context.ensureConnected();
    join();
  }

  function release() {
    if (!unwatch) return;
    lingerTimer = setTimeout(() => {
      lingerTimer = undefined;
      unwatch?.();
      unwatch = undefined;
      clearTimeout(resyncTimer);
      resyncTimer = undefined;
      resyncWhenIdle = false;
      leave();
      joinFailures = 0;
      gaveUp = false;
      resyncFailures = 0;
      forget();
      store.set(PENDING as ViewState<T>);
    }, context.lingerMs);
  }

  function join() {
    const joined = connection.channel(`route:${path}`, { mode: "json" });
    channel = joined;
    synced = false;
    // Events of a channel this view left (or replaced) are ignored.
    const on =
      <A extends unknown[]>(handle: (...args: A) => void) =>
      (...args: A) => {
        if (joined === channel) handle(...args);
      };
    joined.on("ui", on(onUi));
    joined.on("patchUi", on(onPatch));
    joined.on("error", on(onRouteError));
    // The socket dropped or the channel crashed on the server: phoenix rejoins by itself.
    joined.onError(
      on(() => {
        synced = false;
        markStale();
      }),
    );
    // The server closed the channel without our asking: join again through a resync.
    joined.onClose(
      on(() => {
        channel = undefined;
        synced = false;
        log.debug?.("Channel closed by the server", { route: path });
        resync();
      }),
    );
    joined
      .join(context.joinTimeoutMs)
      .receive(
        "ok",
        on(() => {
          joinFailures = 0;
        }),
      )
      .receive("error", on(onJoinRefused))
      .receive(
        "timeout",
        on(() => log.debug?.("Join timed out; retrying", { route: path })),
      );
  }

  function leave() {
    const left = channel;
    if (!left) return;
    channel = undefined;
    synced = false;
    left.leave();
  }

  function onUi(payload: unknown) {
    let document: Hydrated<T>;
    try {
      document = hydrator.replace(payload) as Hydrated<T>;
    } catch (error) {
      // Such as a document nested too deep: kept out, shown as an error, asked for again.
      showError(error as LenraError);
      resync();
      return;
    }
    synced = true;
    base = document;
    serverMovedOn();
    store.update({ status: "success", data: shown(), error: undefined, isStale: false });
  }

  /** A new server document: optimistic updates already confirmed by a reply are now in it. */
  function serverMovedOn() {
    version += 1;
    layers = layers.filter((layer) => !confirmed.has(layer));
  }

  function onPatch(payload: unknown) {
    if (!synced) {
      log.debug?.("Patch before the document; resyncing", { route: path });
      resync();
      return;
    }
    const operations = (payload as { patch?: unknown } | null)?.patch;
    try {
      base = hydrator.patch(base, operations) as Hydrated<T>;
    } catch (error) {
      log.warn?.("Patch failed; resyncing", {
        route: path,
        // A LenraPatchError, which never quotes a value.
        error: (error as Error).message,
      });
      resync();
      return;
    }
    resyncFailures = 0;
    serverMovedOn();
    store.update({ data: shown(), error: undefined });
  }

  function onRouteError(payload: unknown) {
    const errors = readServerErrorDetails(payload);
    showError(
      new LenraRouteError({
        route: path,
        errors,
        response: payload,
        message: `The route "${path}" reported an error: ${errors[0]!.message}`,
      }),
    );
  }

  /** Shows `error`, keeping the data there is (no log: the view's state says it). */
  function showError(error: LenraError) {
    const { data } = getSnapshot();
    store.update({ status: data === undefined ? "error" : "success", error });
  }

  function onJoinRefused(response: unknown) {
    const detail = readServerErrorDetail(response);
    const error = new LenraJoinError({
      ...detail,
      route: path,
      response,
      message: `Could not join the route "${path}": ${detail.message}`,
    });
    joinFailures += 1;
    log.warn?.("Join refused", { route: path, reason: error.reason, attempt: joinFailures });
    // The data shown belonged to an identity the route no longer accepts: drop it.
    forget();
    // The app's view failed to render (Lenra refuses the join then): joining again at once would
    // only run the failing view again. `retry()` or the next connection tries again.
    gaveUp = error.reason === APP_FAILURE_REASON || joinFailures >= context.maxJoinAttempts;
    // Until the view gives up, phoenix joins again and the refusal may pass (a socket between
    // two identities): the view stays pending, and Suspense boundaries see only final errors.
    store.set(gaveUp ? { status: "error", data: undefined, error, isStale: false } : PENDING);
    // Phoenix would retry a refused join forever; stop until something changes.
    if (gaveUp) leave();
  }

  /** Leaves and rejoins to get a whole document, once pending listener calls have settled. */
  function resync() {
    synced = false;
    markStale();
    if (resyncTimer !== undefined || resyncWhenIdle) return;
    if (inFlight.size > 0) {
      // Leaving now would drop the replies of calls already sent, turning calls that ran into
      // "outcome unknown" errors.
      resyncWhenIdle = true;
      return;
    }
    resyncFailures += 1;
    resyncTimer = setTimeout(() => {
      resyncTimer = undefined;
      if (!unwatch) return;
      leave();
      join();
    }, resyncDelay(resyncFailures));
  }

  function markStale() {
    if (getSnapshot().data !== undefined) store.update({ isStale: true });
  }

  /** Runs a listener. Called by an async method of the listener, which turns a throw into a rejection. */
  function run(code: string, event: unknown, options: RunOptions = {}): Promise<void> {
    const joined = channel;
    const { listenerTimeoutMs } = context;
    context.assertAlive();
    if (!joined) {
      throw new LenraListenerError({
        route: path,
        reason: "view_closed",
        code: "LENRA_VIEW_CLOSED",
        message: `A listener of "${path}" was called while its view had no subscriber: subscribe to the view first.`,
      });
    }
    const layer: OptimisticLayer | undefined = options.optimistic
      ? { patch: options.optimistic, version }
      : undefined;
    if (layer && base !== undefined) {
      layers = [...layers, layer];
      store.update({ data: shown() });
    }
    return new Promise<void>((resolve, reject) => {
      // Without an event, `event: undefined` is left out of the JSON frame.
      const push = joined.push("run", { code, event }, listenerTimeoutMs);
      // Settles the call once: from its reply, its timeout, or `dispose()`.
      const settle = (error?: LenraError) => {
        if (!inFlight.delete(push)) return;
        if (layer) {
          if (error || version > layer.version) {
            // Failed: roll back. Succeeded and the server already sent its update: it shows it.
            dropLayer(layer);
          } else {
            confirmed.add(layer);
            const timer = setTimeout(() => {
              graceTimers.delete(timer);
              dropLayer(layer);
            }, CONFIRMED_LAYER_GRACE_MS);
            graceTimers.add(timer);
          }
        }
        if (error) reject(error);
        else resolve();
        if (inFlight.size === 0 && resyncWhenIdle) {
          resyncWhenIdle = false;
          resync();
        }
      };
      inFlight.set(push, settle);
      push
        .receive("ok", () => settle())
        .receive("error", (response: unknown) => {
          const detail = readServerErrorDetail(
            (response as { error?: unknown } | null)?.error ?? response,
          );
          settle(
            new LenraListenerError({
              route: path,
              reason: detail.reason,
              response,
              message: `A listener of "${path}" failed: ${detail.message}`,
            }),
          );
        })
        .receive("timeout", () =>
          settle(new LenraListenerTimeoutError({ route: path, timeoutMs: listenerTimeoutMs })),
        );
    });
  }
}
