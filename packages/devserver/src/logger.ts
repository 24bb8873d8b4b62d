/**
 * Receives the dev server's diagnostics. Any object with these optional methods works, so
 * `logger: console` is fine. Tokens are never passed to it.
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

/** A short description of a thrown value for logs and error payloads. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return typeof error === "string" ? error : "Unknown error";
}
