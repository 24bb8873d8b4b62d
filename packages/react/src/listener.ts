"use client";
import {
  type Listener,
  ListenerCaller,
  type ListenerCallOptions,
  type ListenerCallState,
} from "@lenra/client";
import { useState } from "react";
import { useStore } from "./store.ts";

/** What {@link useListener} returns: the call state, plus `call` and `reset`. */
export interface UseListenerResult<E> extends ListenerCallState {
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
 * @param listener - A listener function from a view's data, such as `data?.onIncrement`;
 *   `undefined` while the view loads (a call then fails, saying there is no listener yet).
 * @param options - `concurrency` says what a second call does while one runs: `drop` it
 *   (defaults to `drop`: a double click runs once), `queue` it or run both in `parallel`;
 *   `optimistic` gives RFC 6902 operations shown on the view at once, until the server's update,
 *   and rolled back if the call fails (defaults to none).
 * @returns `call` and `reset`, the same functions for the component's lifetime, with `isPending`
 *   and `error`.
 * @example
 * ```tsx
 * function Counter() {
 *   const { data } = useLenraView<CounterView>("/counter/global");
 *   const increment = useListener(data?.onIncrement, {
 *     optimistic: [{ op: "replace", path: "/value", value: (data?.value ?? 0) + 1 }],
 *   });
 *   return (
 *     <button onClick={() => increment.call()} disabled={increment.isPending}>
 *       {data?.value} {increment.error && "(failed, try again)"}
 *     </button>
 *   );
 * }
 * ```
 * @see PROTOCOL.md §4 (the `run` event of a listener).
 * @see https://www.rfc-editor.org/rfc/rfc6902 (JSON Patch, for `optimistic`).
 * @see {@link ListenerCaller}, the core logic this hook binds to React.
 */
export function useListener<E = unknown>(
  listener: Listener<E> | undefined,
  options: ListenerCallOptions<E> = {},
): UseListenerResult<E> {
  const [caller] = useState(() => new ListenerCaller<E>(listener, options));
  caller.setListener(listener, options);
  return { ...useStore(caller), call: caller.call, reset: caller.reset };
}
