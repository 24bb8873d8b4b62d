import type { LenraClient } from "./client.ts";
import type { LenraError } from "./errors.ts";
import type { Hydrated } from "./listener.ts";
import type { ReadableStore } from "./store.ts";
import type { LenraView, ViewState, ViewStatus } from "./view.ts";

/**
 * Pass instead of a path to observe nothing, for a view that depends on a condition. A symbol
 * (the same in every copy of the library in a page), so no route path can be taken for it.
 *
 * @example
 * ```tsx
 * import { SKIP, useLenraView } from "@lenra/react";
 *
 * const { data } = useLenraView(user ? "/counter/me" : SKIP);
 * ```
 */
export const SKIP: unique symbol = Symbol.for("lenra.skip");

/** What a framework binding shows for one view: the view's state plus derived flags. */
export interface ViewResult<S> {
  readonly data: S | undefined;
  readonly status: ViewStatus;
  readonly error: LenraError | undefined;
  readonly isPending: boolean;
  readonly isSuccess: boolean;
  readonly isError: boolean;
  /** The data may be out of date: socket down, rejoining or resyncing. */
  readonly isStale: boolean;
  /** With `keepPreviousData`: the data shown is the previous path's, while the new one loads. */
  readonly isPreviousData: boolean;
}

/** The options of a {@link ViewObserver} (and of the adapters' `useLenraView`). */
export interface ViewObserverOptions<T, S = Hydrated<T>> {
  /**
   * The route path, or {@link SKIP} to observe nothing.
   *
   * @example `path: user ? "/counter/me" : SKIP`
   * @see PROTOCOL.md section 3
   */
  path: string | typeof SKIP;
  /**
   * Derives what the consumer needs from the data. Subscribers are notified only when the
   * derived value changes (compared with `isEqual`), so a component showing one item of a long
   * list does not re-render when another item changes.
   *
   * @example `select: (data) => data.items.length`
   */
  select?: ((data: Hydrated<T>) => S) | undefined;
  /**
   * How two derived values compare. Defaults to a shallow comparison of objects and arrays.
   *
   * @example `isEqual: (a, b) => a.id === b.id`
   */
  isEqual?: ((a: S, b: S) => boolean) | undefined;
  /**
   * While the path changes, keep showing the last data (flagged `isPreviousData`). Defaults to
   * `false`.
   *
   * @example `keepPreviousData: true`
   */
  keepPreviousData?: boolean | undefined;
}

/**
 * Same values, or objects/arrays whose own members are the same values: the default `isEqual`.
 *
 * @example
 * ```ts
 * shallowEqual({ a: 1, list }, { a: 1, list }); // true
 * shallowEqual([1, 2], [1, 3]); // false
 * ```
 */
export function shallowEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  if (keysA.length !== Object.keys(b).length) return false;
  for (const key of keysA) {
    if (
      !Object.hasOwn(b, key) ||
      !Object.is((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])
    ) {
      return false;
    }
  }
  return true;
}

/**
 * The result of a view that shows nothing yet: skipped (`SKIP`), not subscribed, or rendered on
 * the server. Pending, without data or error; the same frozen object every time.
 *
 * @example
 * ```ts
 * // React: what the server renders and hydration starts from.
 * useSyncExternalStore(subscribe, getSnapshot, () => PENDING_RESULT);
 * ```
 */
export const PENDING_RESULT: ViewResult<never> = Object.freeze({
  data: undefined,
  status: "pending",
  error: undefined,
  isPending: true,
  isSuccess: false,
  isError: false,
  isStale: false,
  isPreviousData: false,
});

/**
 * Observes one view for a framework binding, with `select`, `keepPreviousData` and `SKIP`. It is
 * the single piece of logic behind React's `useLenraView` and Vue's `useLenraView`: bindings set
 * its options, subscribe (again whenever the path changes) and read `getSnapshot()`, which returns
 * the same object for as long as nothing the consumer sees changed.
 *
 * `setOptions` has no side effect (it may run during a React render); joins happen on `subscribe`.
 *
 * @example
 * ```ts
 * const observer = new ViewObserver(lenra, { path: "/todos", select: (data) => data.items });
 * const stop = observer.subscribe(() => renderList(observer.getSnapshot().data));
 * ```
 */
export class ViewObserver<T = unknown, S = Hydrated<T>> implements ReadableStore<ViewResult<S>> {
  readonly #client: LenraClient;
  #options: ViewObserverOptions<T, S>;
  #result: ViewResult<S> = PENDING_RESULT;
  /** The inputs `#result` was computed from. */
  #inputs: { state: ViewState<T> | undefined; options: ViewObserverOptions<T, S> } | undefined;
  /** The last data shown for a path, before `select`, for `keepPreviousData`. */
  #last: { path: string | typeof SKIP; data: Hydrated<T> } | undefined;
  /** The last `select` call, to skip calling it again on the same data. */
  #selection: { data: Hydrated<T>; select: (data: Hydrated<T>) => S; value: S } | undefined;

  constructor(client: LenraClient, options: ViewObserverOptions<T, S>) {
    this.#client = client;
    this.#options = options;
  }

  /**
   * Sets the options `getSnapshot()` reads from now on. Subscribe again after a path change.
   *
   * @example
   * ```ts
   * observer.setOptions({ path: "/todos/done" });
   * ```
   */
  setOptions(options: ViewObserverOptions<T, S>): void {
    this.#options = options;
  }

  /** The view being observed, or undefined when skipped. */
  get view(): LenraView<T> | undefined {
    const { path } = this.#options;
    return path === SKIP ? undefined : this.#client.view<T>(path);
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    const view = this.view;
    if (!view) return () => {};
    // Each subscriber compares with what it last saw: another subscriber may already have
    // computed the new result.
    let seen = this.getSnapshot();
    return view.subscribe(() => {
      const next = this.getSnapshot();
      if (next === seen) return;
      seen = next;
      listener();
    });
  };

  readonly getSnapshot = (): ViewResult<S> => {
    const options = this.#options;
    const view = this.view;
    const state = view?.getSnapshot();
    const inputs = this.#inputs;
    if (inputs && inputs.state === state && inputs.options === options) return this.#result;
    this.#inputs = { state, options };
    const next = state ? this.#compute(state, options) : PENDING_RESULT;
    if (!sameResult(next, this.#result)) this.#result = next;
    return this.#result;
  };

  #compute(state: ViewState<T>, options: ViewObserverOptions<T, S>): ViewResult<S> {
    let data = state.data;
    let isPreviousData = false;
    if (data !== undefined) {
      this.#last = { path: options.path, data };
    } else if (
      options.keepPreviousData &&
      this.#last &&
      this.#last.path !== options.path &&
      state.status !== "error"
    ) {
      data = this.#last.data;
      isPreviousData = true;
    }
    const status: ViewStatus = isPreviousData ? "success" : state.status;
    return {
      data: data === undefined ? undefined : this.#select(data, options),
      status,
      error: state.error,
      isPending: status === "pending",
      isSuccess: status === "success",
      isError: status === "error",
      isStale: state.isStale,
      isPreviousData,
    };
  }

  #select(data: Hydrated<T>, options: ViewObserverOptions<T, S>): S {
    const select = options.select;
    if (!select) return data as unknown as S;
    const previous = this.#selection;
    if (previous && previous.data === data && previous.select === select) return previous.value;
    let value = select(data);
    // Keep the previous value's identity when it is equal, so consumers comparing by identity
    // (React, Vue's shallowRef) do not update for nothing.
    if (previous && (options.isEqual ?? shallowEqual)(previous.value, value))
      value = previous.value;
    this.#selection = { data, select, value };
    return value;
  }
}

function sameResult<S>(a: ViewResult<S>, b: ViewResult<S>): boolean {
  return (
    a.data === b.data &&
    a.status === b.status &&
    a.error === b.error &&
    a.isStale === b.isStale &&
    a.isPreviousData === b.isPreviousData
  );
}

/**
 * Resolves once the view has settled (data or an error), keeping it subscribed meanwhile; what
 * Suspense waits for. The view stays joined for its linger time afterwards, long enough for the
 * component that suspended to mount and subscribe. The same as `view.load()`.
 *
 * @example
 * ```ts
 * export const loader = () => loadView(lenra.view("/todos")); // a router's data loader
 * ```
 */
export function loadView<T>(view: LenraView<T>): Promise<ViewState<T>> {
  return view.load();
}
