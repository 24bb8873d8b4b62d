/**
 * Receives the client's debug events and warnings. Any object with these optional methods works,
 * so `logger: console` is fine. The client never passes tokens, codes, verifiers or view data.
 *
 * @example
 * ```ts
 * createLenraClient({ logger: { warn: (message, details) => report(message, details) } });
 * ```
 */
export interface LenraLogger {
  debug?(message: string, details?: Record<string, unknown>): void;
  warn?(message: string, details?: Record<string, unknown>): void;
  error?(message: string, details?: Record<string, unknown>): void;
}

/**
 * The logger the client calls internally: the app's, or none (`{}`). Its methods are called as
 * methods (`log.warn?.(…)`), so `console` and class instances keep their `this`.
 */
export type Log = LenraLogger;
