/**
 * The base of every error the dev server throws on purpose, as `LenraError` is the client's:
 * `reason` is a stable string to branch on, `message` says what went wrong and what to do, and
 * `cause` keeps the error behind it. Subclasses add what their callers need (an HTTP status, the
 * app's answer); wrong arguments are `TypeError`s instead.
 *
 * `startDevServer` rejects with a `DevServerError` whose `reason` is one of
 * `DevServerErrorReason`.
 *
 * @example
 * ```ts
 * try {
 *   await startDevServer({ app: "./my-app" });
 * } catch (error) {
 *   if (error instanceof DevServerError && error.reason === DevServerErrorReason.PortInUse) {
 *     await startDevServer({ app: "./my-app", port: 0 });
 *   } else throw error;
 * }
 * ```
 */
export class DevServerError<R extends string = string> extends Error {
  override name = "DevServerError";
  /** Why, as a stable string (each subclass lists its own). */
  readonly reason: R;
  /** What the app printed before the error, when it comes from running the app; else `""`. */
  readonly output: string;

  constructor(reason: R, message: string, options?: { cause?: unknown; output?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
    this.output = options?.output ?? "";
  }
}
