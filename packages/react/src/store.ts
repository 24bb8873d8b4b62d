"use client";
import type { ReadableStore } from "@lenra/client";
import { useSyncExternalStore } from "react";

/** A core store's snapshot, re-rendering when it changes; the server renders the same snapshot. */
export function useStore<T>(store: ReadableStore<T>): T {
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}
