/**
 * Receives the auth server's diagnostics. Any object with these optional methods works, so
 * `logger: console` is fine. Tokens, codes, verifiers and cookie values are never passed to it.
 */
export interface AuthServerLogger {
  debug?(message: string, details?: Record<string, unknown>): void;
  info?(message: string, details?: Record<string, unknown>): void;
  warn?(message: string, details?: Record<string, unknown>): void;
  error?(message: string, details?: Record<string, unknown>): void;
}

/** The logger used internally: every level present, silent by default. */
export type AuthLog = Required<AuthServerLogger>;

const silent = () => {};

export function createAuthLog(logger: AuthServerLogger | undefined): AuthLog {
  // Bound so `console` and class instances keep their `this`.
  return {
    debug: logger?.debug?.bind(logger) ?? silent,
    info: logger?.info?.bind(logger) ?? silent,
    warn: logger?.warn?.bind(logger) ?? silent,
    error: logger?.error?.bind(logger) ?? silent,
  };
}
