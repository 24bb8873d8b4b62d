import {
  type Hydrated,
  ViewObserver,
  type ViewObserverOptions,
  type ViewResult,
} from "@lenra/client";
import { type MaybeRefOrGetter, onScopeDispose, shallowRef, toValue, watch } from "vue";
import { useLenraClient } from "./plugin.ts";
import { canSubscribe, type Refs, toRefsOf } from "./store.ts";

/** Options of `useLenraView`: `select`, `isEqual` and `keepPreviousData`, all optional. */
export type UseLenraViewOptions<T, S = Hydrated<T>> = Omit<ViewObserverOptions<T, S>, "path">;

/** What `useLenraView` returns: refs of the view result, plus `suspense()`. */
export interface UseLenraViewResult<S> extends Refs<ViewResult<S>> {
  /**
   * Resolves once the view has data, or rejects with its error: `await` it in an async
   * `setup()` under `<Suspense>`. On the server it resolves at once, pending.
   */
  suspense(): Promise<ViewResult<S>>;
}

/**
 * The live data of the route `path` (`"skip"` subscribes to nothing); `path` and `options` may be
 * values, refs or getters, and options default to no `select`, shallow `isEqual` and
 * `keepPreviousData: false`.
 */
export function useLenraView<T = unknown, S = Hydrated<T>>(
  path: MaybeRefOrGetter<string>,
  options: MaybeRefOrGetter<UseLenraViewOptions<T, S>> = {},
): UseLenraViewResult<S> {
  const client = useLenraClient();
  const read = () => ({ ...toValue(options), path: toValue(path) });
  const observer = new ViewObserver<T, S>(client, read());
  const snapshot = shallowRef(observer.getSnapshot());
  const refresh = () => {
    snapshot.value = observer.getSnapshot();
  };
  const live = canSubscribe("useLenraView");
  if (live) {
    let unsubscribe = () => {};
    let subscribed: string | undefined;
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
