/**
 * Receives the dev server's diagnostics. Any object with these optional methods works, so
 * `logger: console` is fine. Tokens, codes, verifiers and cookie values are never passed to it.
 *
 * @example
 * ```ts
 * await startDevServer({ app: "./my-app", logger: { warn: (message) => myLog.warn(message) } });
 * ```
 */
export interface DevServerLogger {
  debug?(message: string, details?: Record<string, unknown>): void;
  info?(message: string, details?: Record<string, unknown>): void;
  warn?(message: string, details?: Record<string, unknown>): void;
  error?(message: string, details?: Record<string, unknown>): void;
}

/** The logger used internally: every level present, silent by default. */
export type Log = Required<DevServerLogger>;

const silent = () => {};

export function createLog(logger: DevServerLogger | undefined): Log {
  // Bound so `console` and class instances keep their `this`.
  return {
    debug: logger?.debug?.bind(logger) ?? silent,
    info: logger?.info?.bind(logger) ?? silent,
    warn: logger?.warn?.bind(logger) ?? silent,
    error: logger?.error?.bind(logger) ?? silent,
  };
}

/**
 * A warning said once per `key`: for what an app does that Lenra treats in a surprising way,
 * which would otherwise repeat on every render.
 */
export function createNotice(log: Log): (key: string, message: string) => void {
  const said = new Set<string>();
  return (key, message) => {
    if (said.has(key)) return;
    said.add(key);
    log.warn(message);
  };
}

/** A short description of a thrown value for logs and error payloads. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return typeof error === "string" ? error : "Unknown error";
}
