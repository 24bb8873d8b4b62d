"use client";
import {
  type Hydrated,
  SKIP,
  ViewObserver,
  type ViewObserverOptions,
  type ViewResult,
} from "@lenra/client";
import { useCallback, useMemo, useSyncExternalStore } from "react";
import { useLenraClient } from "./provider.ts";

/** Options of `useLenraView`: `select`, `isEqual` and `keepPreviousData`, all optional. */
export type UseLenraViewOptions<T, S = Hydrated<T>> = Omit<ViewObserverOptions<T, S>, "path">;

/** A view result that has data: what `useSuspenseLenraView` returns. */
export type SuspenseViewResult<S> = ViewResult<S> & { readonly data: S };

// What the server renders and what hydration starts from, whatever the client already holds,
// so the markup matches; nothing is joined on the server.
const SERVER_RESULT: ViewResult<never> = Object.freeze({
  data: undefined,
  status: "pending",
  error: undefined,
  isPending: true,
  isSuccess: false,
  isError: false,
  isStale: false,
  isPreviousData: false,
});
const serverResult = () => SERVER_RESULT;

/**
 * The live data of the route `path` (`"skip"` subscribes to nothing), re-rendering only when what
 * the component sees changes; options default to no `select`, shallow `isEqual` and
 * `keepPreviousData: false`.
 */
export function useLenraView<T = unknown, S = Hydrated<T>>(
  path: string,
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
 * `useLenraView` for `<Suspense>`: suspends until the first data and throws errors to the nearest
 * error boundary; `path` cannot be `"skip"`, and on the server it always shows the fallback.
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
