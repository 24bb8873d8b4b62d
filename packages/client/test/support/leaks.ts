/**
 * Counts what the client leaves behind: the timers and event listeners created by its code or by
 * phoenix's (told apart from the test's and the servers' by the stack that created them), still
 * pending or still registered.
 */

const CLIENT_CODE = /packages\/client\/src\/|phoenix@|\/node_modules\/phoenix\//;

export interface TrackedTimer {
  readonly kind: "timeout" | "interval";
  /** Where it was created, for the failure message. */
  readonly stack: string;
}

export interface LeakTracker {
  /** The client's timers still pending. */
  timers(): TrackedTimer[];
  /** The client's event listeners still registered (not removed, signal not aborted). */
  listeners(): string[];
  stop(): void;
}

interface ListenerEntry {
  readonly target: EventTarget;
  readonly type: string;
  readonly listener: unknown;
  readonly signal: AbortSignal | undefined;
  removed: boolean;
}

function byClient(): string | undefined {
  const stack = new Error().stack ?? "";
  return CLIENT_CODE.test(stack) ? stack : undefined;
}

/** Starts counting; `targets` are the event targets whose listeners to watch. */
export function trackLeaks(targets: EventTarget[]): LeakTracker {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  const real = {
    setTimeout: globalThis.setTimeout,
    clearTimeout: globalThis.clearTimeout,
    setInterval: globalThis.setInterval,
    clearInterval: globalThis.clearInterval,
  };
  const timers = new Map<unknown, TrackedTimer>();
  globalThis.setTimeout = ((
    callback: (...args: unknown[]) => void,
    ms?: number,
    ...args: unknown[]
  ) => {
    const stack = byClient();
    const handle = real.setTimeout(() => {
      timers.delete(handle);
      callback(...args);
    }, ms);
    if (stack) timers.set(handle, { kind: "timeout", stack });
    return handle;
  }) as typeof setTimeout;
  globalThis.setInterval = ((
    callback: (...args: unknown[]) => void,
    ms?: number,
    ...args: unknown[]
  ) => {
    const stack = byClient();
    const handle = real.setInterval(callback, ms, ...args);
    if (stack) timers.set(handle, { kind: "interval", stack });
    return handle;
  }) as typeof setInterval;
  globalThis.clearTimeout = ((handle: Parameters<typeof clearTimeout>[0]) => {
    timers.delete(handle);
    real.clearTimeout(handle);
  }) as typeof clearTimeout;
  globalThis.clearInterval = ((handle: Parameters<typeof clearInterval>[0]) => {
    timers.delete(handle);
    real.clearInterval(handle);
  }) as typeof clearInterval;

  const entries: ListenerEntry[] = [];
  const restores: (() => void)[] = [];
  for (const target of targets) {
    const add = target.addEventListener;
    const remove = target.removeEventListener;
    target.addEventListener = function (this: EventTarget, type, listener, options) {
      if (byClient()) {
        const signal = typeof options === "object" ? options.signal : undefined;
        entries.push({ target, type, listener, signal, removed: false });
      }
      return add.call(this, type, listener, options);
    };
    target.removeEventListener = function (this: EventTarget, type, listener, options) {
      for (const entry of entries) {
        if (entry.target === target && entry.type === type && entry.listener === listener) {
          entry.removed = true;
        }
      }
      return remove.call(this, type, listener, options);
    };
    restores.push(() => {
      target.addEventListener = add;
      target.removeEventListener = remove;
    });
  }

  return {
    timers: () => [...timers.values()],
    listeners: () =>
      entries
        .filter((entry) => !entry.removed && !entry.signal?.aborted)
        .map((entry) => entry.type),
    stop() {
      Object.assign(globalThis, real);
      for (const restore of restores) restore();
      Error.stackTraceLimit = limit;
    },
  };
}
