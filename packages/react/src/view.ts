"use client";
import {
  type Hydrated,
  PENDING_RESULT,
  SKIP,
  ViewObserver,
  type ViewObserverOptions,
  type ViewResult,
} from "@lenra/client";
import { useCallback, useMemo, useSyncExternalStore } from "react";
import { useLenraClient } from "./provider.ts";

/**
 * Options of {@link useLenraView}: `select`, `isEqual` and `keepPreviousData`, all optional.
 *
 * @see {@link ViewObserverOptions}, where each is described.
 */
export type UseLenraViewOptions<T, S = Hydrated<T>> = Omit<ViewObserverOptions<T, S>, "path">;

/** A view result that has data: what {@link useSuspenseLenraView} returns. */
export type SuspenseViewResult<S> = ViewResult<S> & { readonly data: S };

// What the server renders and what hydration starts from, whatever the client already holds,
// so the markup matches; nothing is joined on the server.
const serverResult = () => PENDING_RESULT;

/**
 * The live data of the JSON route `path`, re-rendering only when what the component sees changes.
 *
 * The first component on a path joins its route, every other one shares that channel, and the
 * route is left `lingerMs` after the last one unmounts. Listener objects in the data are
 * functions, ready for `useListener`. On the server it renders `pending` and joins nothing.
 *
 * @param path - The route, such as `"/counter/global"` or `` `/todos/${id}` ``, or {@link SKIP}
 *   to subscribe to nothing (a view that waits for something); a new path switches the
 *   subscription, `pending` in between unless `keepPreviousData`.
 * @param options - `select` derives what the component shows (defaults to the whole data),
 *   `isEqual` compares two derived values (defaults to `shallowEqual`), `keepPreviousData`
 *   shows the previous path's data while the next one loads (defaults to `false`).
 * @returns `data`, `status` and `error`, with the flags `isPending`, `isSuccess`, `isError`,
 *   `isStale` (the socket is down or resyncing) and `isPreviousData`.
 * @example
 * ```tsx
 * interface CounterView {
 *   value: number;
 *   onIncrement: ListenerObject;
 * }
 *
 * function Counter() {
 *   const { data, isPending, error } = useLenraView<CounterView>("/counter/global");
 *   if (isPending) return <p>Loading…</p>;
 *   if (error) return <p>{error.message}</p>;
 *   return <p>{data?.value}</p>;
 * }
 *
 * function Remaining() {
 *   // Re-renders only when the number changes, not on every edit of the list.
 *   const { data } = useLenraView<TodosView, number>("/todos", {
 *     select: (todos) => todos.remaining,
 *   });
 *   return <p>{data ?? "…"} left</p>;
 * }
 * ```
 * @see PROTOCOL.md §3 (a route's `ui`, then its `patchUi` patches).
 * @see {@link ViewObserver}, the core logic this hook binds to React.
 */
export function useLenraView<T = unknown, S = Hydrated<T>>(
  path: string | typeof SKIP,
  options: UseLenraViewOptions<T, S> = {},
): ViewResult<S> {
  const client = useLenraClient();
  const observer = useMemo(() => new ViewObserver<T, S>(client, { path: SKIP }), [client]);
  observer.setOptions({ ...options, path });
  // biome-ignore lint/correctness/useExhaustiveDependencies: the observer subscribes to the view of the current path, so a new path needs a new subscription.
  const subscribe = useCallback(
    (onChange: () => void) => observer.subscribe(onChange),
    [observer, path],
  );
  return useSyncExternalStore(subscribe, observer.getSnapshot, serverResult);
}

const subscribeToNothing = () => () => {};

/**
 * {@link useLenraView} for `<Suspense>`: suspends until the first data and throws errors to the
 * nearest error boundary, only those the view will not get past by itself (a refused join is
 * tried again under the fallback first). In the boundary's reset, call the view's `retry()`: the
 * children then suspend on a fresh attempt rather than throw the old error again.
 *
 * On the server it always shows the `<Suspense>` fallback, leaving the data to the client. Keep
 * the client's `lingerMs` (defaults to 2000 ms) above React's Suspense reveal delay (300 ms), so
 * the route stays joined between the fallback and the content.
 *
 * @param path - The route, such as `"/counter/global"`; never {@link SKIP}.
 * @param options - As for {@link useLenraView}: no `select`, shallow `isEqual` and
 *   `keepPreviousData: false` by default.
 * @returns The view's result, whose `data` is always there.
 * @example
 * ```tsx
 * function Counter() {
 *   const { data } = useSuspenseLenraView<CounterView>("/counter/global");
 *   return <p>{data.value}</p>;
 * }
 *
 * <ErrorBoundary
 *   fallback={<p>Could not load the counter</p>}
 *   onReset={() => lenra.view("/counter/global").retry()}
 * >
 *   <Suspense fallback={<p>Loading…</p>}>
 *     <Counter />
 *   </Suspense>
 * </ErrorBoundary>;
 * ```
 * @see PROTOCOL.md §3 (a route's first `ui`, or the refused join that becomes the error).
 * @see `LenraView.load()`, the promise it suspends on.
 */
export function useSuspenseLenraView<T = unknown, S = Hydrated<T>>(
  path: string,
  options: UseLenraViewOptions<T, S> = {},
): SuspenseViewResult<S> {
  const client = useLenraClient();
  const result = useLenraView<T, S>(path, options);
  const onServer = useSyncExternalStore(
    subscribeToNothing,
    () => false,
    () => true,
  );
  if (result.isError) throw result.error;
  if (result.isPending) {
    // Loading would open a socket on the server: render the fallback there, data on the client.
    if (onServer) {
      throw new Error(
        `useSuspenseLenraView("${path}") renders on the client only: the server shows the <Suspense> fallback.`,
      );
    }
    throw client.view(path).load();
  }
  return result as SuspenseViewResult<S>;
}
