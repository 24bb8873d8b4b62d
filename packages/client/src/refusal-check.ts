import type { WebSocketConstructor } from "./connection.ts";

/** Attempts in a row that sent a token and closed before the socket opened, before the token is suspected. */
export const REFUSALS_BEFORE_SUSPICION = 3;

/** What the connection does after a refused attempt: try again later, or stop. */
export type RefusalVerdict = "retry" | "unauthorized";

/**
 * Tells a refused token from an outage. Only the server's refusal of the token counts against
 * it (Lenra answers a bad token with HTTP 401 or 403 on the upgrade); a 5xx, a gateway error, a
 * timeout or a network error is an outage, retried with backoff however long it lasts.
 *
 * A browser does not say why an upgrade failed (a 403 and a 502 both close with 1006), so the
 * check asks the server itself, the same way everywhere: after a few failed attempts in a row, it
 * tries the same upgrade without the token. If the server accepts it, the token is what it
 * refuses; otherwise the server refuses everyone, which is an outage. A refused token is
 * refreshed once, and if the server still refuses it, the verdict is `unauthorized` rather than
 * a reconnect loop.
 *
 * Every refused connection goes through this one place (the login's refresh and the
 * `unauthorized` state hang off it).
 */
export interface RefusalCheck {
  /** The socket opened, or the identity changed: the token is not suspected anymore. */
  reset(): void;
  /**
   * An attempt that sent a token closed before the socket opened. `moot()` is asked after each
   * step: once the question went away (the app disconnected, the identity changed), nothing more
   * is done and the answer does not matter.
   */
  refused(moot: () => boolean): Promise<RefusalVerdict>;
}

/**
 * Creates the check of one connection.
 *
 * @param probe Whether the server accepts the upgrade without the token.
 * @param refresh Refreshes the token; true when a new one is ready to try.
 */
export function createRefusalCheck(
  probe: () => Promise<boolean>,
  refresh: () => Promise<boolean>,
): RefusalCheck {
  let refusals = 0;
  let refreshed = false;
  return {
    reset() {
      refusals = 0;
      refreshed = false;
    },
    async refused(moot) {
      refusals += 1;
      if (refusals < REFUSALS_BEFORE_SUSPICION) return "retry";
      const accepted = await probe();
      if (moot()) return "retry";
      if (!accepted) {
        // The server refuses everyone, which explains the failures: the token is not suspected,
        // but the next failure asks again, so a token the restarted server refuses is refreshed
        // at the first refusal the probe confirms.
        refusals -= 1;
        return "retry";
      }
      if (!refreshed) {
        refreshed = true;
        if (await refresh()) {
          refusals = 0;
          return "retry";
        }
      }
      return "unauthorized";
    },
  };
}

/**
 * Whether the server accepts a websocket upgrade at `url`: true once it opens (it is closed at
 * once), false when it fails, after `timeoutMs`, or when `signal` aborts.
 */
export function probeUpgrade(
  url: string,
  Transport: WebSocketConstructor,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Transport(url) as {
      onopen: (() => void) | null;
      onclose: (() => void) | null;
      onerror: (() => void) | null;
      close(): void;
    };
    const settle = (accepted: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", fail);
      socket.onopen = socket.onclose = null;
      // Closing an upgrade under way makes Node's `ws` emit an error: it must have a listener.
      socket.onerror = () => {};
      socket.close();
      resolve(accepted);
    };
    const fail = () => settle(false);
    const timer = setTimeout(fail, timeoutMs);
    signal.addEventListener("abort", fail);
    socket.onopen = () => settle(true);
    socket.onerror = socket.onclose = fail;
  });
}
