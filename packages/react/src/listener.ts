"use client";
import {
  type Listener,
  ListenerCaller,
  type ListenerCallOptions,
  type ListenerCallState,
} from "@lenra/client";
import { useState } from "react";
import { useStore } from "./store.ts";

export interface UseListenerResult<E> extends ListenerCallState {
  /** Calls the latest listener given; the same function for the component's lifetime, never rejects. */
  readonly call: (event?: E) => Promise<void>;
  /** Forgets the last error. */
  readonly reset: () => void;
}

/**
 * Calls a view's listener with pending and error states; a second call while one runs is dropped
 * unless `concurrency` says `queue` or `parallel` (defaults to `drop`, no `optimistic` update).
 */
export function useListener<E = unknown>(
  listener: Listener<E> | undefined,
  options: ListenerCallOptions<E> = {},
): UseListenerResult<E> {
  const [caller] = useState(() => new ListenerCaller<E>(listener, options));
  caller.setListener(listener, options);
  return { ...useStore(caller), call: caller.call, reset: caller.reset };
}
