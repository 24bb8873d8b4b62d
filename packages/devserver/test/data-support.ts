import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createDataApiHandler, type DataApiTokenInfo } from "../src/data/api.ts";
import { createDataStore, type DataStore, type DataStoreOptions } from "../src/data/store.ts";

export const PREFIX = "/app-api/v1/data";

/** The tokens every data API test server accepts. */
export const TOKENS: Record<string, DataApiTokenInfo> = {
  alice: { userId: "user-alice" },
  bob: { userId: "user-bob" },
  env: {},
};

export interface DataApiServer {
  url: string;
  store: DataStore;
  server: Server;
  /** Calls the API; `token` is a key of TOKENS or a raw token, `null` sends none. */
  call(
    method: string,
    path: string,
    body?: unknown,
    token?: string | null,
    // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the API answered.
  ): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

/** Starts the data API on a free port of 127.0.0.1 around a fresh store. */
export async function startDataApi(
  options: DataStoreOptions & { maxBodyBytes?: number; store?: DataStore } = {},
): Promise<DataApiServer> {
  const store = options.store ?? (await createDataStore(options));
  const handler = createDataApiHandler({
    store,
    maxBodyBytes: options.maxBodyBytes,
    resolveToken: (token) => TOKENS[token],
  });
  const server = createServer((req, res) => {
    if (!handler(req, res)) {
      res.writeHead(404).end("not the data API");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    store,
    server,
    async call(method, path, body, token = "alice") {
      const headers: Record<string, string> = {};
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let payload: string | undefined;
      if (body !== undefined && method !== "GET" && method !== "HEAD") {
        headers["content-type"] = "application/json";
        payload = typeof body === "string" ? body : JSON.stringify(body);
      }
      const response = await fetch(url + (path.startsWith("/app-api") ? path : PREFIX + path), {
        method,
        headers,
        body: payload,
      });
      const text = await response.text();
      return {
        status: response.status,
        body: text === "" ? undefined : JSON.parse(text),
        headers: response.headers,
      };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
    },
  };
}
