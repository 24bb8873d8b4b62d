import {
  isListener,
  type Listener,
  ListenerCaller,
  type ListenerCallOptions,
  type ListenerCallState,
} from "@lenra/client";
import { getCurrentScope, type MaybeRefOrGetter, toValue, unref, watchEffect } from "vue";
import { type Refs, toRefsOf, useStore } from "./store.ts";

/** What {@link useListener} returns: refs of the call state, plus `call` and `reset`. */
export interface UseListenerResult<E> extends Refs<ListenerCallState> {
  /** Calls the latest listener given; the same function for the component's lifetime, never rejects. */
  readonly call: (event?: E) => Promise<void>;
  /** Forgets the last error. */
  readonly reset: () => void;
}

/**
 * Calls a view's listener with pending and error states.
 *
 * The listener may change as the view does; `call` always runs the latest one given. A failed
 * call's error lands in `error`, with the app's own words in its message: `call` never rejects,
 * so it can be an event handler as is. A call is never retried on its own.
 *
 * @param listener - A listener function from a view's data, or a getter such as
 *   `() => data.value?.onIncrement` to follow the view; `undefined` while the view loads (a call
 *   then fails, saying there is no listener yet).
 * @param options - A value, a ref or a getter: `concurrency` says what a second call does while
 *   one runs: `drop` it (defaults to `drop`: a double click runs once), `queue` it or run both in
 *   `parallel`; `optimistic` gives RFC 6902 operations shown on the view at once, until the
 *   server's update, and rolled back if the call fails (defaults to none).
 * @returns `call` and `reset`, the same functions for the component's lifetime, with the refs
 *   `isPending` and `error`.
 * @example
 * ```vue
 * <script setup lang="ts">
 * const { data } = useLenraView<CounterView>("/counter/global");
 * const increment = useListener(() => data.value?.onIncrement, () => ({
 *   optimistic: [{ op: "replace", path: "/value", value: (data.value?.value ?? 0) + 1 }],
 * }));
 * </script>
 *
 * <template>
 *   <button :disabled="increment.isPending.value" @click="increment.call()">
 *     {{ data?.value }} {{ increment.error.value ? "(failed, try again)" : "" }}
 *   </button>
 * </template>
 * ```
 * @see PROTOCOL.md §4 (the `run` event of a listener).
 * @see https://www.rfc-editor.org/rfc/rfc6902 (JSON Patch, for `optimistic`).
 * @see {@link ListenerCaller}, the core logic this composable binds to Vue.
 */
export function useListener<E = unknown>(
  listener: MaybeRefOrGetter<Listener<E> | undefined>,
  options: MaybeRefOrGetter<ListenerCallOptions<E>> = {},
): UseListenerResult<E> {
  // A listener is itself a function: toValue would call it instead of reading it.
  const read = (): Listener<E> | undefined => {
    const value = unref(listener);
    if (typeof value === "function" && !isListener(value)) {
      return (value as () => Listener<E> | undefined)();
    }
    return value as Listener<E> | undefined;
  };
  const caller = new ListenerCaller<E>(read(), toValue(options));
  const state = useStore(caller, "useListener");
  if (getCurrentScope()) {
    watchEffect(() => caller.setListener(read(), toValue(options)), { flush: "sync" });
  }
  return { ...toRefsOf(state), call: caller.call, reset: caller.reset };
}
