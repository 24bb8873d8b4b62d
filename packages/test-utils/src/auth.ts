import { createLenraClient, type LenraClient, type LenraClientOptions } from "@lenra/client";
import { lenraLogin } from "@lenra/client/login";
import {
  type ProtocolServer,
  refuseConnection,
  startProtocolServer,
} from "@lenra/devserver/protocol";
import {
  type AuthServer,
  completeDevLogin,
  createTestApp,
  listener,
  startAuthServer,
} from "@lenra/devserver/testing";
import { WebSocket } from "ws";

export const REDIRECT_URI = "http://localhost:5999/redirect.html";
const CLIENT_ID = "test-app";

export interface AuthHarness {
  auth: AuthServer;
  server: ProtocolServer;
  /** Token requests (grant types) the clients made. */
  tokenRequests: string[];
  /** A client with the test login; `options` are the client's other options. */
  client(options?: Omit<LenraClientOptions, "login">): LenraClient;
  /** Starts a login in Node and returns the callback URL the dev login page sends back to. */
  callbackUrl(client: LenraClient, username: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * The real OAuth server and a socket server that checks tokens against it, with a `/me` view
 * that shows who is connected and `/mine`, which only a user may join.
 */
export async function startAuthHarness(): Promise<AuthHarness> {
  const auth = await startAuthServer({
    port: 0,
    clients: [{ clientId: CLIENT_ID, redirectUris: [REDIRECT_URI], refreshTokens: true }],
  });
  const app = createTestApp<{ count: number }>({
    state: { count: 0 },
    routes: {
      "/me": {
        roles: ["guest", "user"],
        view: (_state, { me }) => ({ me: me ?? "guest", onPing: listener("ping") }),
      },
      "/mine": { view: (_state, { me }) => ({ me }) },
    },
    listeners: { ping: () => {} },
    async authenticate(request) {
      const token = typeof request.params.token === "string" ? request.params.token : undefined;
      if (!token) return { roles: ["guest"] };
      const info = await auth.verifyAccessToken(token);
      return info ? { userId: info.userId, roles: ["user"] } : refuseConnection("invalid_token");
    },
  });
  const server = await startProtocolServer({ backend: app });
  const tokenRequests: string[] = [];
  // Node's own fetch, whatever the DOM environment installs.
  const nodeFetch = globalThis.fetch;
  const recordingFetch: typeof fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.pathname === "/oauth2/token") {
      tokenRequests.push(new URLSearchParams(String(init?.body ?? "")).get("grant_type") ?? "");
    }
    return nodeFetch(input, init);
  };
  const clients: LenraClient[] = [];
  return {
    auth,
    server,
    tokenRequests,
    client(options = {}) {
      const client = createLenraClient({
        socketEndpoint: server.socketUrl,
        transport: WebSocket,
        lingerMs: 100,
        ...options,
        login: lenraLogin({
          clientId: CLIENT_ID,
          baseUri: auth.url,
          allowInsecureRequests: true,
          redirectUri: REDIRECT_URI,
          fetch: recordingFetch,
        }),
      });
      clients.push(client);
      return client;
    },
    async callbackUrl(client, username) {
      let authorizationUrl = "";
      await client.auth.login({
        openUrl: (url) => {
          authorizationUrl = url;
        },
      });
      return completeDevLogin({ authorizationUrl, username, fetch: nodeFetch });
    },
    async close() {
      await Promise.all(clients.map((client) => client.dispose()));
      await server.close();
      await auth.close();
    },
  };
}
