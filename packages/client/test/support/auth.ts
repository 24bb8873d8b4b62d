import {
  type ProtocolServer,
  refuseConnection,
  startProtocolServer,
} from "@lenra/devserver/protocol";
import {
  type AuthServer,
  type AuthServerOptions,
  completeDevLogin,
  createTestApp,
  listener,
  startAuthServer,
  type TestApp,
} from "@lenra/devserver/testing";
import { WebSocket } from "ws";
import { createLenraClient, type LenraClient, type LenraClientOptions } from "../../src/index.ts";
import { type LenraLoginOptions, lenraLogin } from "../../src/login.ts";

export const REDIRECT_URI = "http://localhost:5999/redirect.html";
export const CLIENT_ID = "test-app";

export interface CounterState {
  count: number;
  personal: Record<string, number>;
}

/** A token request seen by the client's fetch, without its secrets leaving the test. */
export interface TokenRequest {
  grantType: string | null;
  body: URLSearchParams;
}

export interface AuthHarness {
  auth: AuthServer;
  server: ProtocolServer;
  app: TestApp<CounterState>;
  /** Every access token the socket server was shown, in order. */
  socketTokens: (string | undefined)[];
  tokenRequests: TokenRequest[];
  /** A fetch that records token endpoint requests, then does the real request. */
  fetch: typeof fetch;
  /** A client with a login for the test OAuth client; `login` adds or overrides login options. */
  client(
    options?: Omit<LenraClientOptions, "login"> & { login?: Partial<LenraLoginOptions> },
  ): LenraClient;
  /** Runs a whole redirect login in Node: authorize, the dev login form, the callback. */
  login(client: LenraClient, username: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * The real OAuth server (oidc-provider, in-process) and a socket server whose connections are
 * checked against it: an invalid or expired token is refused with HTTP 403, like Lenra.
 */
export async function startAuthHarness(
  options: {
    refreshTokens?: boolean;
    accessTokenTtl?: number;
    authServer?: Partial<AuthServerOptions>;
  } = {},
): Promise<AuthHarness> {
  const auth = await startAuthServer({
    port: 0,
    accessTokenTtl: options.accessTokenTtl ?? 3600,
    clients: [
      {
        clientId: CLIENT_ID,
        redirectUris: [REDIRECT_URI],
        refreshTokens: options.refreshTokens ?? true,
      },
    ],
    ...options.authServer,
  });
  const socketTokens: (string | undefined)[] = [];
  const app = createTestApp<CounterState>({
    state: { count: 0, personal: {} },
    routes: {
      "/counter": {
        roles: ["guest", "user"],
        view: (state) => ({ value: state.count, onIncrement: listener("increment") }),
      },
      "/me": {
        view: (state, { me }) => ({
          me,
          value: state.personal[me ?? ""] ?? 0,
          onIncrement: listener("incrementMe"),
        }),
      },
    },
    listeners: {
      increment: (state) => {
        state.count += 1;
      },
      incrementMe: (state, _props, _event, { me }) => {
        if (me) state.personal[me] = (state.personal[me] ?? 0) + 1;
      },
    },
    async authenticate(request) {
      const token = typeof request.params.token === "string" ? request.params.token : undefined;
      socketTokens.push(token);
      if (!token) return { roles: ["guest"] };
      const info = await auth.verifyAccessToken(token);
      if (!info) return refuseConnection("invalid_token");
      return { userId: info.userId, roles: ["user"] };
    },
  });
  const server = await startProtocolServer({ backend: app });
  const tokenRequests: TokenRequest[] = [];
  const recordingFetch: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.pathname === "/oauth2/token") {
      const body = new URLSearchParams(String(init?.body ?? ""));
      tokenRequests.push({ grantType: body.get("grant_type"), body });
    }
    return fetch(input, init);
  };
  const clients: LenraClient[] = [];
  return {
    auth,
    server,
    app,
    socketTokens,
    tokenRequests,
    fetch: recordingFetch,
    client(extra = {}) {
      const client = createLenraClient({
        socketEndpoint: server.socketUrl,
        transport: WebSocket,
        lingerMs: 50,
        fetch: recordingFetch,
        ...extra,
        login: lenraLogin({
          clientId: CLIENT_ID,
          baseUri: auth.url,
          allowInsecureRequests: true,
          redirectUri: REDIRECT_URI,
          ...extra.login,
        }),
      });
      clients.push(client);
      return client;
    },
    async login(client, username) {
      let authorizationUrl = "";
      await client.auth.login({
        openUrl: (url) => {
          authorizationUrl = url;
        },
      });
      const callbackUrl = await completeDevLogin({ authorizationUrl, username });
      await client.auth.handleRedirectCallback(callbackUrl);
    },
    async close() {
      await Promise.all(clients.map((client) => client.dispose()));
      await server.close();
      await auth.close();
    },
  };
}

/** A Storage-like map, so tests can look at what the client stored. */
export function memoryStorage() {
  const items = new Map<string, string>();
  return {
    items,
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
  };
}
