import {
  isListener,
  type Listener,
  ListenerCaller,
  type ListenerCallOptions,
  type ListenerCallState,
} from "@lenra/client";
import { getCurrentScope, type MaybeRefOrGetter, toValue, unref, watchEffect } from "vue";
import { type Refs, toRefsOf, useStore } from "./store.ts";

/** What `useListener` returns: refs of the call state, plus `call` and `reset`. */
export interface UseListenerResult<E> extends Refs<ListenerCallState> {
  /** Calls the latest listener given; the same function for the component's lifetime, never rejects. */
  readonly call: (event?: E) => Promise<void>;
  /** Forgets the last error. */
  readonly reset: () => void;
}

/**
 * Calls a view's listener with pending and error states; give a getter such as
 * `() => data.value?.onIncrement` to follow the view, and `options` default to `drop` concurrency
 * and no `optimistic` update.
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
