import {
  type LenraBackend,
  type ProtocolServer,
  startProtocolServer,
} from "@lenra/devserver/protocol";
import { createTestApp, type TestApp, type TestAppOptions } from "@lenra/devserver/testing";
import { WebSocket } from "ws";
import { createLenraClient, type LenraClient, type LenraClientOptions } from "../../src/index.ts";
import type { ReadableStore } from "../../src/store.ts";

/** Resolves with the store's snapshot once `predicate` holds (checked now and on each change). */
export function waitFor<T>(
  store: ReadableStore<T>,
  predicate: (snapshot: T) => boolean,
  { timeoutMs = 15_000, what = "the expected state" }: { timeoutMs?: number; what?: string } = {},
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let unsubscribe = () => {};
    const timer = setTimeout(() => {
      unsubscribe();
      reject(
        new Error(
          `Timed out waiting for ${what}; last snapshot: ${JSON.stringify(store.getSnapshot())}`,
        ),
      );
    }, timeoutMs);
    const check = () => {
      const snapshot = store.getSnapshot();
      if (!predicate(snapshot)) return false;
      clearTimeout(timer);
      unsubscribe();
      resolve(snapshot);
      return true;
    };
    if (check()) return;
    unsubscribe = store.subscribe(check);
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What `read` returns, as a store polled every 50 ms, for `waitFor`. */
export function polled<T>(read: () => T): ReadableStore<T> {
  return {
    subscribe: (fn) => {
      const timer = setInterval(fn, 50);
      return () => clearInterval(timer);
    },
    getSnapshot: read,
  };
}

export interface Harness<S> {
  app: TestApp<S>;
  server: ProtocolServer;
  clients: LenraClient[];
  client(options?: LenraClientOptions): LenraClient;
  close(): Promise<void>;
}

/** The app name test clients give: Lenra refuses a guest socket that names no app. */
export const TEST_APP_NAME = "test-app";

/**
 * A test app on a protocol server on a free port of 127.0.0.1, and clients connected to it,
 * naming the app ({@link TEST_APP_NAME}) as a Lenra client does. `backend` puts a backend of the
 * test's own in front of the app, for what a server other than Lenra may do.
 */
export async function startHarness<S>(
  appOptions: TestAppOptions<S>,
  { backend }: { backend?: (app: TestApp<S>) => LenraBackend } = {},
): Promise<Harness<S>> {
  const app = createTestApp(appOptions);
  const server = await startProtocolServer({ backend: backend?.(app) ?? app });
  const clients: LenraClient[] = [];
  return {
    app,
    server,
    clients,
    client(options = {}) {
      const client = createLenraClient({
        socketEndpoint: server.socketUrl,
        appName: TEST_APP_NAME,
        transport: WebSocket,
        lingerMs: 50,
        ...options,
      });
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.map((client) => client.dispose()));
      await server.close();
    },
  };
}
