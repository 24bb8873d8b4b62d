import type { ReadableStore } from "@lenra/client";
import {
  computed,
  getCurrentScope,
  hasInjectionContext,
  inject,
  onScopeDispose,
  type Ref,
  type ShallowRef,
  shallowRef,
  ssrContextKey,
  warn,
} from "vue";

/** One read-only ref per field of a snapshot: what the composables return for a core state. */
export type Refs<T> = { readonly [K in keyof T]: Readonly<Ref<T[K]>> };

/**
 * Whether a composable may subscribe: only in a scope that releases the subscription when it
 * ends, and never while rendering on the server, where nothing may connect.
 */
export function canSubscribe(name: string): boolean {
  if (!getCurrentScope()) {
    warn(
      `${name}() was called outside setup() and any effect scope: nothing could release its subscription, so it shows the current state and never updates. Call it in setup() or in an effectScope() that you stop.`,
    );
    return false;
  }
  return !(hasInjectionContext() && inject(ssrContextKey, null));
}

/** A core store's snapshot in a shallowRef, released with the current scope. */
export function useStore<T>(store: ReadableStore<T>, name: string): ShallowRef<T> {
  const snapshot = shallowRef(store.getSnapshot());
  if (canSubscribe(name)) {
    onScopeDispose(store.subscribe(() => (snapshot.value = store.getSnapshot())));
    // The first subscriber may change the state at once (auth checks stored tokens).
    snapshot.value = store.getSnapshot();
  }
  return snapshot;
}

/** Refs of the snapshot's fields; each triggers only when its own value changes. */
export function toRefsOf<T extends object>(snapshot: Readonly<Ref<T>>): Refs<T> {
  const refs: Partial<Record<keyof T, Readonly<Ref<unknown>>>> = {};
  for (const key of Object.keys(snapshot.value) as (keyof T)[]) {
    refs[key] = computed(() => snapshot.value[key]);
  }
  return refs as Refs<T>;
}
