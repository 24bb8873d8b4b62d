import {
  type Hydrated,
  type SKIP,
  ViewObserver,
  type ViewObserverOptions,
  type ViewResult,
} from "@lenra/client";
import { type MaybeRefOrGetter, onScopeDispose, shallowRef, toValue, watch } from "vue";
import { useLenraClient } from "./plugin.ts";
import { canSubscribe, type Refs, toRefsOf } from "./store.ts";

/**
 * Options of {@link useLenraView}: `select`, `isEqual` and `keepPreviousData`, all optional.
 *
 * @see {@link ViewObserverOptions}, where each is described.
 */
export type UseLenraViewOptions<T, S = Hydrated<T>> = Omit<ViewObserverOptions<T, S>, "path">;

/** What {@link useLenraView} returns: refs of the view result, plus `suspense()`. */
export interface UseLenraViewResult<S> extends Refs<ViewResult<S>> {
  /**
   * Resolves once the view has data, or rejects with its error (one it will not get past by
   * itself: a refused join is tried again first): `await` it in an async `setup()` under
   * `<Suspense>`. After an error, call the view's `retry()` before mounting the component again,
   * so that it waits for a fresh attempt. On the server it resolves at once, pending.
   *
   * @example
   * ```vue
   * <script setup lang="ts">
   * // An async setup: the nearest <Suspense> shows its fallback until the data is there,
   * // and the error reaches onErrorCaptured.
   * const { data, suspense } = useLenraView<CounterView>("/counter/global");
   * await suspense();
   * </script>
   *
   * <template>
   *   <p>{{ data?.value }}</p>
   * </template>
   * ```
   * @see PROTOCOL.md §3 (a route's first `ui`, or the refused join that becomes the error).
   * @see `LenraView.load()`, the promise it waits for.
   */
  suspense(): Promise<ViewResult<S>>;
}

/**
 * The live data of the JSON route `path` as refs, each updating only when its own value changes.
 *
 * The first component on a path joins its route, every other one shares that channel, and the
 * route is left `lingerMs` after the last scope using it ends. Listener objects in the data are
 * functions, ready for `useListener`; `data` holds the client's immutable document as is,
 * never a deep reactive copy. On the server it renders `pending` and joins nothing; outside
 * `setup()` and any effect scope it warns and subscribes to nothing.
 *
 * @param path - The route, such as `"/counter/global"` or `` () => `/todos/${props.id}` ``, or
 *   `SKIP` to subscribe to nothing (a view that waits for something); a value, a ref or a
 *   getter: a new path switches the subscription, `pending` in between unless
 *   `keepPreviousData`.
 * @param options - A value, a ref or a getter: `select` derives what the component shows
 *   (defaults to the whole data), `isEqual` compares two derived values (defaults to
 *   `shallowEqual`), `keepPreviousData` shows the previous path's data while the next one
 *   loads (defaults to `false`).
 * @returns Refs of `data`, `status` and `error`, with the flags `isPending`, `isSuccess`,
 *   `isError`, `isStale` (the socket is down or resyncing) and `isPreviousData`, and
 *   `suspense()`.
 * @example
 * ```vue
 * <script setup lang="ts">
 * interface CounterView {
 *   value: number;
 *   onIncrement: ListenerObject;
 * }
 *
 * const { data, isPending, error } = useLenraView<CounterView>("/counter/global");
 * // Updates only when the number changes, not on every edit of the list.
 * const { data: remaining } = useLenraView<TodosView, number>("/todos", {
 *   select: (todos) => todos.remaining,
 * });
 * </script>
 *
 * <template>
 *   <p v-if="isPending">Loading…</p>
 *   <p v-else-if="error">{{ error.message }}</p>
 *   <p v-else>{{ data?.value }} ({{ remaining ?? "…" }} left)</p>
 * </template>
 * ```
 * @see PROTOCOL.md §3 (a route's `ui`, then its `patchUi` patches).
 * @see {@link ViewObserver}, the core logic this composable binds to Vue.
 */
export function useLenraView<T = unknown, S = Hydrated<T>>(
  path: MaybeRefOrGetter<string | typeof SKIP>,
  options: MaybeRefOrGetter<UseLenraViewOptions<T, S>> = {},
): UseLenraViewResult<S> {
  const client = useLenraClient();
  const read = (): ViewObserverOptions<T, S> => ({ ...toValue(options), path: toValue(path) });
  const observer = new ViewObserver<T, S>(client, read());
  const snapshot = shallowRef(observer.getSnapshot());
  const refresh = () => {
    snapshot.value = observer.getSnapshot();
  };
  const live = canSubscribe("useLenraView");
  if (live) {
    let unsubscribe = () => {};
    let subscribed: string | typeof SKIP | undefined;
    watch(
      read,
      (next) => {
        observer.setOptions(next);
        // The observer subscribes to the view of the current path: a new path needs a new
        // subscription (the old view lingers, then leaves).
        if (next.path !== subscribed) {
          unsubscribe();
          subscribed = next.path;
          unsubscribe = observer.subscribe(refresh);
        }
        refresh();
      },
      { immediate: true, flush: "sync" },
    );
    onScopeDispose(() => unsubscribe());
  }
  return {
    ...toRefsOf(snapshot),
    async suspense() {
      const view = observer.view;
      if (live && view) await view.load();
      refresh();
      if (snapshot.value.isError) throw snapshot.value.error;
      return snapshot.value;
    },
  };
}
