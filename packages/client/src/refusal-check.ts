/** Attempts in a row that sent a token and closed before the socket opened, before the token is suspected. */
export const REFUSALS_BEFORE_SUSPICION = 3;

/** What the connection does after a refused attempt: try again later, or stop. */
export type RefusalVerdict = "retry" | "unauthorized";

/**
 * Tells a refused token from a server that is down. A refused websocket upgrade (HTTP 403 for a
 * bad token) looks exactly like a server that is down: the browser reports close code 1006
 * either way. After a few refused attempts in a row it asks whether the server answers plain
 * HTTP: if it does, the token is the problem, so it is refreshed once, and if the server still
 * refuses, the verdict is `unauthorized` rather than a reconnect loop.
 */
export class RefusalCheck {
  readonly #probe: () => Promise<boolean>;
  readonly #refresh: () => Promise<boolean>;
  #refusals = 0;
  #refreshed = false;

  /**
   * @param probe Whether the socket's server answers HTTP at all.
   * @param refresh Refreshes the token; true when a new one is ready to try.
   */
  constructor(probe: () => Promise<boolean>, refresh: () => Promise<boolean>) {
    this.#probe = probe;
    this.#refresh = refresh;
  }

  /** The socket opened, or the identity changed: the token is not suspected anymore. */
  reset(): void {
    this.#refusals = 0;
    this.#refreshed = false;
  }

  /**
   * An attempt that sent a token closed before the socket opened. `moot()` is asked after each
   * step: once the question went away (the app disconnected, the identity changed), nothing more
   * is done and the answer does not matter.
   */
  async refused(moot: () => boolean): Promise<RefusalVerdict> {
    this.#refusals += 1;
    if (this.#refusals < REFUSALS_BEFORE_SUSPICION) return "retry";
    const reachable = await this.#probe();
    if (moot()) return "retry";
    if (!reachable) {
      // The server is down, which explains the closes: the token is not suspected.
      this.#refusals = 0;
      return "retry";
    }
    if (!this.#refreshed) {
      this.#refreshed = true;
      if (await this.#refresh()) {
        this.#refusals = 0;
        return "retry";
      }
    }
    return "unauthorized";
  }
}

/**
 * Whether anything answers HTTP at the socket endpoint's websocket path: a response of any
 * status means the server is up. Gives up after 3 s, or when `signal` aborts.
 */
export async function probeHttp(
  endpoint: string,
  fetchImpl: typeof fetch | undefined,
  signal: AbortSignal,
): Promise<boolean> {
  const doFetch = fetchImpl ?? globalThis.fetch;
  if (typeof doFetch !== "function") return true;
  const controller = new AbortController();
  const abort = () => controller.abort();
  const timer = setTimeout(abort, 3000);
  signal.addEventListener("abort", abort);
  try {
    // `no-cors`: only reachability matters, and the socket server need not allow our origin.
    await doFetch(`${endpoint.replace(/^ws(s?):\/\//, "http$1://")}/websocket`, {
      mode: "no-cors",
      cache: "no-store",
      signal: controller.signal,
      credentials: "omit",
    });
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", abort);
  }
}
