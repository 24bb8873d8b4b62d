/**
 * The one reactive primitive of the library: what auth, the connection and every view expose.
 * `getSnapshot()` returns the same object until something changed, so React's
 * `useSyncExternalStore` and Vue's `shallowRef` can compare snapshots by identity.
 */
export interface ReadableStore<T> {
  /**
   * Registers `listener`, called after each change; returns the function that unregisters it.
   *
   * @example
   * ```ts
   * const stop = lenra.connection.subscribe(() => console.log(lenra.connection.getSnapshot()));
   * ```
   */
  subscribe(listener: () => void): () => void;
  /** The current snapshot; a new object only when its content changed. */
  getSnapshot(): T;
}

/** A store its owner can write to. */
export interface WritableStore<T> extends ReadableStore<T> {
  /** Replaces the snapshot and notifies, unless `next` is the current snapshot. */
  set(next: T): void;
  /**
   * Merges `changes` into the snapshot. When every changed key already holds the same value
   * (`Object.is`), the snapshot keeps its identity and nobody is notified.
   */
  update(changes: Partial<T>): void;
}

/**
 * Creates a {@link WritableStore} holding `initial`. `onFirstSubscribe` runs when it gets its
 * first subscriber, `onLastUnsubscribe` when its last one leaves (to start and stop the work
 * behind it).
 */
export function createStore<T extends object>(
  initial: T,
  onFirstSubscribe?: () => void,
  onLastUnsubscribe?: () => void,
): WritableStore<T> {
  let snapshot = initial;
  const listeners = new Set<() => void>();

  const set = (next: T) => {
    if (Object.is(next, snapshot)) return;
    snapshot = next;
    // A listener may unsubscribe others while we notify: iterate over a copy.
    for (const listener of [...listeners]) listener();
  };

  return {
    getSnapshot: () => snapshot,
    subscribe(listener) {
      // One entry per subscription: the same function subscribed twice stays subscribed until
      // both subscriptions are released.
      const entry = () => listener();
      listeners.add(entry);
      if (listeners.size === 1) onFirstSubscribe?.();
      let active = true;
      return () => {
        if (!active) return;
        active = false;
        listeners.delete(entry);
        if (listeners.size === 0) onLastUnsubscribe?.();
      };
    },
    set,
    update(changes) {
      for (const key in changes) {
        if (!Object.is(changes[key], snapshot[key])) {
          set({ ...snapshot, ...changes });
          return;
        }
      }
    },
  };
}

/**
 * Resolves with the first snapshot of `store` that `done` accepts, keeping the store subscribed
 * meanwhile (subscribing is what starts a view's join or the login's startup checks).
 */
export function until<T>(store: ReadableStore<T>, done: (snapshot: T) => boolean): Promise<T> {
  return new Promise((resolve) => {
    let unsubscribe: (() => void) | undefined;
    let settled = false;
    const check = () => {
      const snapshot = store.getSnapshot();
      if (settled || !done(snapshot)) return;
      settled = true;
      unsubscribe?.();
      resolve(snapshot);
    };
    unsubscribe = store.subscribe(check);
    check();
  });
}
