import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Socket } from "phoenix";
import { type DevServer, startDevServer } from "../../src/index.ts";
import { insecureTestToken } from "../../src/testing.ts";
import { installApp, socketEndpoint, upgradeStatus } from "../dev-server-support.ts";
import { connectPhoenix, type LiveRoute, openRoute, waitFor } from "../helpers.ts";

/** The app of the compatibility suite: `@lenra/app` views and listeners, in plain JavaScript. */
export const compatAppDir = fileURLToPath(new URL("../fixtures/compat-app", import.meta.url));

/** The name guests give the app: Lenra refuses a guest socket without one. */
export const APP = "compat-app";

/** One line the dev server logged. */
export interface LogLine {
  level: "debug" | "info" | "warn" | "error";
  message: string;
}

/** The compatibility app on a dev server, with what both of them printed. */
export interface Compat {
  server: DevServer;
  logs: LogLine[];
  /** What the app printed, chunk by chunk. */
  output: string[];
  /** The listeners that recorded a call, in order, with the user they ran for. */
  calls(): { listener: string; me: string | null }[];
  close(): Promise<void>;
}

/**
 * Starts the compatibility app on a dev server on free ports. `without` leaves files out of the
 * app (such as `src/listeners/system.js`, for an app without system listeners).
 */
export async function startCompat(options: { without?: readonly string[] } = {}): Promise<Compat> {
  const scratch = await mkdtemp(join(tmpdir(), "devserver-compat-"));
  const dir = await installApp(scratch, compatAppDir, options);
  const logs: LogLine[] = [];
  const output: string[] = [];
  const line = (level: LogLine["level"]) => (message: string) => logs.push({ level, message });
  try {
    const server = await startDevServer({
      app: dir,
      port: 0,
      authPort: 0,
      insecureTestTokens: true,
      logger: {
        debug: line("debug"),
        info: line("info"),
        warn: line("warn"),
        error: line("error"),
      },
      onAppOutput: (text) => output.push(text),
    });
    return {
      server,
      logs,
      output,
      calls: () =>
        server.store
          .find("calls", { query: {} })
          .map(({ listener, me }) => ({ listener: listener as string, me: me as string | null })),
      async close() {
        await server.close();
        await rm(scratch, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(scratch, { recursive: true, force: true });
    throw error;
  }
}

/** A guest socket naming the app, disconnected after the test. */
export function guestSocket(compat: Compat, params: Record<string, unknown> = {}): Socket {
  return connectPhoenix(compat.server, { app: APP, ...params });
}

/** A user socket (the dev server's test tokens), disconnected after the test. */
export function userSocket(compat: Compat, userId: string): Socket {
  return connectPhoenix(compat.server, { token: insecureTestToken(userId) });
}

/** The HTTP status a websocket upgrade with these params gets (101 when accepted). */
export function socketStatus(compat: Compat, params: Record<string, string>): Promise<number> {
  return upgradeStatus(socketEndpoint(compat.server.socketUrl, params));
}

/** Opens a route and waits for its first document. */
export function open(socket: Socket, path: string): Promise<LiveRoute> {
  return openRoute(socket, path);
}

/** A user id no other test uses. */
export function uniqueUser(prefix = "user"): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
}

/** One data API request the app's `probe` listener sends as it is. */
export interface ProbeRequest {
  method: string;
  path: string;
  body?: unknown;
  /** `"tx"`: with the token of the transaction the probe started last. */
  as?: "tx";
}

/**
 * Has the app send `requests` to the data API from a listener of `route`'s session (a route
 * showing the `listeners` view) and resolves with every status and answer, in order.
 */
export async function probe(
  compat: Compat,
  route: LiveRoute,
  requests: readonly ProbeRequest[],
): Promise<{ status: number; body: unknown }[]> {
  const before = compat.server.store.find("probes", { query: {} }).length;
  const reply = await route.run(route.code("probe"), { requests });
  if (reply.status !== "ok") throw new Error(`the probe failed: ${JSON.stringify(reply)}`);
  await waitFor(() => compat.server.store.find("probes", { query: {} }).length > before);
  const last = compat.server.store.find("probes", { query: {} }).at(-1);
  return JSON.parse(last?.results as string);
}
