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
  /** Applied on top of the server's document until the call settles; see {@link RouteView}. */
  optimistic?: readonly JsonPatchOperation[];
}

/** An optimistic update shown on top of the server's document while its call runs. */
interface OptimisticLayer {
  readonly operations: readonly JsonPatchOperation[];
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
  /** Delay before the n-th resync in a row (n >= 1). */
  resyncDelay(attempt: number): number;
}

const PENDING: ViewState<never> = Object.freeze({
  status: "pending",
  data: undefined,
  error: undefined,
  isStale: false,
});

/**
 * One route subscription: joins `route:<path>` on the first subscriber, leaves `lingerMs` after
 * the last one, keeps the hydrated document and resyncs (leave + rejoin, which makes the server
 * send a whole `ui`) whenever a patch cannot be applied.
 */
export class RouteView<T = unknown> implements LenraView<T> {
  readonly path: string;
  readonly subscribe: (listener: () => void) => () => void;
  readonly getSnapshot: () => ViewState<T>;

  readonly #context: ViewContext;
  readonly #store = createStore<ViewState<T>>(PENDING as ViewState<T>, {
    onFirstSubscribe: () => this.#acquire(),
    onLastUnsubscribe: () => this.#release(),
  });
  #hydrator = this.#createHydrator();
  #channel: Channel | undefined;
  /** A whole `ui` arrived since the current join: patches can apply. */
  #synced = false;
  #joinFailures = 0;
  #gaveUp = false;
  #resyncFailures = 0;
  #resyncTimer: ReturnType<typeof setTimeout> | undefined;
  #resyncWhenIdle = false;
  #lingerTimer: ReturnType<typeof setTimeout> | undefined;
  /** Timers that drop confirmed optimistic updates; see {@link CONFIRMED_LAYER_GRACE_MS}. */
  #graceTimers = new Set<ReturnType<typeof setTimeout>>();
  /** Listener calls waiting for their reply, each with what settles it. */
  #inFlight = new Map<Push, (error?: LenraError) => void>();
  /** Stops watching the connection; set while the view is acquired. */
  #unwatch: (() => void) | undefined;
  /** The server's document, without optimistic updates. */
  #base: Hydrated<T> | undefined;
  /** Counts the server's documents and patches, to order optimistic updates against them. */
  #version = 0;
  #layers: OptimisticLayer[] = [];
  /** Layers whose call succeeded: the server's next document includes them. */
  #confirmed = new WeakSet<OptimisticLayer>();
  #loading: Promise<ViewState<T>> | undefined;

  constructor(path: string, context: ViewContext) {
    this.path = path;
    this.#context = context;
    this.subscribe = (listener) => {
      context.assertAlive();
      return this.#store.subscribe(listener);
    };
    this.getSnapshot = this.#store.getSnapshot;
  }

  #createHydrator() {
    return createHydrator((code, event, options) => this.#run(code, event, options));
  }

  load(): Promise<ViewState<T>> {
    this.#context.assertAlive();
    const state = this.getSnapshot();
    if (state.status !== "pending") return Promise.resolve(state);
    this.#loading ??= until(this, (s) => s.status !== "pending").finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  /**
   * The client is disposed: stops every timer, rejects the calls waiting for a reply with
   * `error`, and lets go of the channel (the connection leaves it once the socket is closed).
   */
  dispose(error: LenraError): void {
    clearTimeout(this.#lingerTimer);
    clearTimeout(this.#resyncTimer);
    for (const timer of this.#graceTimers) clearTimeout(timer);
    this.#unwatch?.();
    // Not joined anymore: a subscriber leaving later starts no linger timer.
    this.#unwatch = undefined;
    this.#channel = undefined;
    this.#resyncWhenIdle = false;
    this.#forget();
    for (const settle of [...this.#inFlight.values()]) settle(error);
  }

  /** Forgets the document because the identity behind the socket changed; the channel stays. */
  clearData(): void {
    this.#forget();
    this.#synced = false;
    this.#store.set(PENDING as ViewState<T>);
  }

  /** Drops the document, its listeners and optimistic updates. */
  #forget() {
    this.#hydrator = this.#createHydrator();
    this.#base = undefined;
    this.#layers = [];
  }

  /** The document to show: the server's, with the optimistic updates still pending on top. */
  #shown(): Hydrated<T> | undefined {
    let data = this.#base;
    if (data === undefined) return undefined;
    for (const layer of [...this.#layers]) {
      try {
        data = this.#hydrator.patch(data, layer.operations) as Hydrated<T>;
      } catch {
        // The server's document moved on and the update no longer applies: drop it.
        this.#layers = this.#layers.filter((l) => l !== layer);
      }
    }
    return data;
  }

  #dropLayer(layer: OptimisticLayer) {
    if (!this.#layers.includes(layer)) return;
    this.#layers = this.#layers.filter((l) => l !== layer);
    this.#store.update({ data: this.#shown() });
  }

  retry(): void {
    this.#context.assertAlive();
    if (!this.#unwatch) return;
    this.#joinFailures = 0;
    this.#gaveUp = false;
    // A view in error starts over with a fresh join (the server renders it anew), pending
    // meanwhile: `load()` and Suspense wait for the outcome rather than the old error.
    if (this.getSnapshot().status === "error") {
      this.#leave();
      this.#store.set(PENDING as ViewState<T>);
    }
    if (!this.#channel) this.#join();
  }

  #acquire() {
    if (this.#lingerTimer !== undefined) {
      clearTimeout(this.#lingerTimer);
      this.#lingerTimer = undefined;
      return;
    }
    const { connection } = this.#context;
    let wasOpen = connection.state.getSnapshot().status === "open";
    const stopState = connection.state.subscribe(() => {
      const { status } = connection.state.getSnapshot();
      // A route refused for this identity may be allowed on the next connection (after login).
      if (status === "open" && !wasOpen && this.#gaveUp) this.retry();
      wasOpen = status === "open";
      // Stale the moment the socket is in doubt, not when phoenix notices later.
      if (!wasOpen) this.#markStale();
      if (status === "unauthorized") {
        this.#showError(
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
      if (this.#channel && (topic === undefined || topic === this.#channel.topic)) this.#resync();
    });
    this.#unwatch = () => {
      stopState();
      stopDrops();
    };
    this.#context.ensureConnected();
    this.#join();
  }

  #release() {
    if (!this.#unwatch) return;
    this.#lingerTimer = setTimeout(() => {
      this.#lingerTimer = undefined;
      this.#unwatch?.();
      this.#unwatch = undefined;
      clearTimeout(this.#resyncTimer);
      this.#resyncTimer = undefined;
      this.#resyncWhenIdle = false;
      this.#leave();
      this.#joinFailures = 0;
      this.#gaveUp = false;
      this.#resyncFailures = 0;
      this.#forget();
      this.#store.set(PENDING as ViewState<T>);
    }, this.#context.lingerMs);
  }

  #join() {
    const { connection, joinTimeoutMs, log } = this.#context;
    const channel = connection.channel(`route:${this.path}`, { mode: "json" });
    this.#channel = channel;
    this.#synced = false;
    channel.on("ui", (payload: unknown) => {
      if (channel === this.#channel) this.#onUi(payload);
    });
    channel.on("patchUi", (payload: unknown) => {
      if (channel === this.#channel) this.#onPatch(payload);
    });
    channel.on("error", (payload: unknown) => {
      if (channel === this.#channel) this.#onRouteError(payload);
    });
    // The socket dropped or the channel crashed on the server: phoenix rejoins by itself.
    channel.onError(() => {
      if (channel !== this.#channel) return;
      this.#synced = false;
      this.#markStale();
    });
    // The server closed the channel without our asking: join again through a resync.
    channel.onClose(() => {
      if (channel !== this.#channel) return;
      this.#channel = undefined;
      this.#synced = false;
      log.debug("Channel closed by the server", { route: this.path });
      this.#resync();
    });
    channel
      .join(joinTimeoutMs)
      .receive("ok", () => {
        if (channel === this.#channel) this.#joinFailures = 0;
      })
      .receive("error", (response: unknown) => {
        if (channel === this.#channel) this.#onJoinRefused(response);
      })
      .receive("timeout", () => {
        if (channel === this.#channel) log.debug("Join timed out; retrying", { route: this.path });
      });
  }

  #leave() {
    const channel = this.#channel;
    if (!channel) return;
    this.#channel = undefined;
    this.#synced = false;
    channel.leave();
  }

  #onUi(payload: unknown) {
    let base: Hydrated<T>;
    try {
      base = this.#hydrator.replace(payload) as Hydrated<T>;
    } catch (error) {
      // Such as a document nested too deep: kept out, shown as an error, asked for again.
      this.#showError(error as LenraError);
      this.#resync();
      return;
    }
    this.#synced = true;
    this.#base = base;
    this.#serverMovedOn();
    this.#store.update({
      status: "success",
      data: this.#shown(),
      error: undefined,
      isStale: false,
    });
  }

  /** A new server document: optimistic updates already confirmed by a reply are now in it. */
  #serverMovedOn() {
    this.#version += 1;
    this.#layers = this.#layers.filter((layer) => !this.#confirmed.has(layer));
  }

  #onPatch(payload: unknown) {
    if (!this.#synced) {
      this.#context.log.debug("Patch before the document; resyncing", {
        route: this.path,
      });
      this.#resync();
      return;
    }
    const operations = (payload as { patch?: unknown } | null)?.patch;
    try {
      this.#base = this.#hydrator.patch(this.#base, operations) as Hydrated<T>;
    } catch (error) {
      this.#context.log.warn("Patch failed; resyncing", {
        route: this.path,
        error: error instanceof Error ? error.message : String(error),
      });
      this.#resync();
      return;
    }
    this.#resyncFailures = 0;
    this.#serverMovedOn();
    this.#store.update({ data: this.#shown(), error: undefined });
  }

  #onRouteError(payload: unknown) {
    const errors = readServerErrorDetails(payload);
    const error = new LenraRouteError({
      route: this.path,
      errors,
      response: payload,
      message: `The route "${this.path}" reported an error: ${errors[0]!.message}`,
    });
    this.#showError(error);
  }

  /** Shows `error`, keeping the data there is. */
  #showError(error: LenraError) {
    this.#context.log.warn("View error", { route: this.path, code: error.code });
    const { data } = this.#store.getSnapshot();
    this.#store.update({ status: data === undefined ? "error" : "success", error });
  }

  #onJoinRefused(response: unknown) {
    const { log, maxJoinAttempts } = this.#context;
    const detail = readServerErrorDetail(response);
    const error = new LenraJoinError({
      ...detail,
      route: this.path,
      response,
      message: `Could not join the route "${this.path}": ${detail.message}`,
    });
    this.#joinFailures += 1;
    log.warn("Join refused", {
      route: this.path,
      reason: error.reason,
      attempt: this.#joinFailures,
    });
    // The data shown belonged to an identity the route no longer accepts: drop it.
    this.#forget();
    // The app's view failed to render (Lenra refuses the join then): joining again at once would
    // only run the failing view again. `retry()` or the next connection tries again.
    this.#gaveUp = error.reason === APP_FAILURE_REASON || this.#joinFailures >= maxJoinAttempts;
    // Until the view gives up, phoenix joins again and the refusal may pass (a socket between
    // two identities): the view stays pending, and Suspense boundaries see only final errors.
    this.#store.set(
      this.#gaveUp ? { status: "error", data: undefined, error, isStale: false } : PENDING,
    );
    // Phoenix would retry a refused join forever; stop until something changes.
    if (this.#gaveUp) this.#leave();
  }

  /** Leaves and rejoins to get a whole document, once pending listener calls have settled. */
  #resync() {
    this.#synced = false;
    this.#markStale();
    if (this.#resyncTimer !== undefined || this.#resyncWhenIdle) return;
    if (this.#inFlight.size > 0) {
      // Leaving now would drop the replies of calls already sent, turning calls that ran into
      // "outcome unknown" errors.
      this.#resyncWhenIdle = true;
      return;
    }
    this.#resyncFailures += 1;
    const delay = this.#context.resyncDelay(this.#resyncFailures);
    this.#resyncTimer = setTimeout(() => {
      this.#resyncTimer = undefined;
      if (!this.#unwatch) return;
      this.#leave();
      this.#join();
    }, delay);
  }

  #markStale() {
    if (this.#store.getSnapshot().data !== undefined) this.#store.update({ isStale: true });
  }

  #run(code: string, event: unknown, options: RunOptions = {}): Promise<void> {
    const channel = this.#channel;
    const { listenerTimeoutMs } = this.#context;
    try {
      this.#context.assertAlive();
    } catch (error) {
      return Promise.reject(error);
    }
    if (!channel) {
      return Promise.reject(
        new LenraListenerError({
          route: this.path,
          reason: "view_closed",
          code: "LENRA_VIEW_CLOSED",
          message: `A listener of "${this.path}" was called while its view had no subscriber: subscribe to the view first.`,
        }),
      );
    }
    const layer: OptimisticLayer | undefined = options.optimistic
      ? { operations: options.optimistic, version: this.#version }
      : undefined;
    if (layer && this.#base !== undefined) {
      this.#layers = [...this.#layers, layer];
      this.#store.update({ data: this.#shown() });
    }
    return new Promise<void>((resolve, reject) => {
      const payload = event === undefined ? { code } : { code, event };
      const push = channel.push("run", payload, listenerTimeoutMs);
      // Settles the call once: from its reply, its timeout, or `dispose()`.
      const settle = (error?: LenraError) => {
        if (!this.#inFlight.delete(push)) return;
        if (layer) {
          if (error || this.#version > layer.version) {
            // Failed: roll back. Succeeded and the server already sent its update: it shows it.
            this.#dropLayer(layer);
          } else {
            this.#confirmed.add(layer);
            const timer = setTimeout(() => {
              this.#graceTimers.delete(timer);
              this.#dropLayer(layer);
            }, CONFIRMED_LAYER_GRACE_MS);
            this.#graceTimers.add(timer);
          }
        }
        if (error) reject(error);
        else resolve();
        if (this.#inFlight.size === 0 && this.#resyncWhenIdle) {
          this.#resyncWhenIdle = false;
          this.#resync();
        }
      };
      this.#inFlight.set(push, settle);
      push
        .receive("ok", () => settle())
        .receive("error", (response: unknown) => {
          const detail = readServerErrorDetail(
            (response as { error?: unknown } | null)?.error ?? response,
          );
          settle(
            new LenraListenerError({
              route: this.path,
              reason: detail.reason,
              response,
              message: `A listener of "${this.path}" failed: ${detail.message}`,
            }),
          );
        })
        .receive("timeout", () =>
          settle(new LenraListenerTimeoutError({ route: this.path, timeoutMs: listenerTimeoutMs })),
        );
    });
  }
}
