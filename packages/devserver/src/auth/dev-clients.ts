/** The client id of the dev client configured when no `clients` option is given. */
export const DEFAULT_DEV_CLIENT_ID = "lenra-dev";

/**
 * The ports the default dev client accepts redirects on: Vite's dev server and its preview
 * server, for two examples side by side.
 */
export const DEFAULT_DEV_CLIENT_PORTS: readonly number[] = [5173, 5174, 4173, 4174];

/**
 * One OAuth client of the dev auth server, as an app owner registers it on Hydra.
 *
 * @example
 * ```ts
 * await startDevServer({
 *   app: "./my-app",
 *   clients: [{ clientId: "my-spa", redirectUris: ["http://localhost:3000/redirect.html"] }],
 * });
 * ```
 */
export interface DevClientOptions {
  /** The `client_id` the application sends. */
  clientId: string;
  /**
   * Where the authorization server may send the browser back with a code; compared exactly,
   * character for character ([RFC 9700 §2.1](https://www.rfc-editor.org/rfc/rfc9700#section-2.1)),
   * except that a URI on `localhost` also allows the same URI on `127.0.0.1`, and back, since a
   * dev page may be opened under either name.
   */
  redirectUris: readonly string[];
  /**
   * Where the end-session endpoint may send the browser back after logout (only together with
   * `id_token_hint`, as Hydra). Defaults to none.
   */
  postLogoutRedirectUris?: readonly string[];
  /**
   * Origins allowed to call the token and revocation endpoints from a browser (CORS).
   * Defaults to the origins of `redirectUris`.
   */
  allowedOrigins?: readonly string[];
  /**
   * Whether the client is allowed the `refresh_token` grant, so that asking for
   * `offline_access` (or Hydra's `offline`) gets it refresh tokens. Defaults to `true`.
   */
  refreshTokens?: boolean;
}

/**
 * A client as the server configured it, every default filled in.
 *
 * @example
 * ```ts
 * const [client] = server.auth.clients;
 * client.clientId; // "lenra-dev"
 * client.allowedOrigins; // the origins of its redirect URIs, unless given
 * ```
 */
export interface ResolvedDevClient {
  readonly clientId: string;
  readonly redirectUris: readonly string[];
  readonly postLogoutRedirectUris: readonly string[];
  readonly allowedOrigins: readonly string[];
  readonly refreshTokens: boolean;
}

/**
 * The default dev client: a public client redirecting to `/redirect.html` (the Lenra web
 * client's default redirect page) on `localhost` and `127.0.0.1` at each port, and returning
 * to the page's root after logout.
 */
export function defaultDevClient(
  ports: readonly number[] = DEFAULT_DEV_CLIENT_PORTS,
): DevClientOptions {
  const origins = ports.flatMap((port) => {
    if (!Number.isInteger(port) || port < 1 || port > 65_535) {
      throw new TypeError(`devClientPorts: ${String(port)} is not a TCP port number (1-65535).`);
    }
    return [`http://localhost:${port}`, `http://127.0.0.1:${port}`];
  });
  return {
    clientId: DEFAULT_DEV_CLIENT_ID,
    redirectUris: origins.map((origin) => `${origin}/redirect.html`),
    postLogoutRedirectUris: origins.map((origin) => `${origin}/`),
    refreshTokens: true,
  };
}

/** Validates the clients option and fills in the defaults; throws `TypeError` naming the field. */
export function resolveDevClients(clients: readonly DevClientOptions[]): ResolvedDevClient[] {
  if (!Array.isArray(clients) || clients.length === 0) {
    throw new TypeError("clients: expected a non-empty array of client options.");
  }
  const seen = new Set<string>();
  return clients.map((client, index) => {
    const where = `clients[${index}]`;
    if (typeof client?.clientId !== "string" || !/^[\x21-\x7e]{1,128}$/.test(client.clientId)) {
      throw new TypeError(`${where}.clientId: expected 1 to 128 printable ASCII characters.`);
    }
    if (seen.has(client.clientId)) {
      throw new TypeError(`${where}.clientId: "${client.clientId}" is configured twice.`);
    }
    seen.add(client.clientId);
    const redirectUris = withLoopbackTwins(urls(client.redirectUris, `${where}.redirectUris`));
    if (redirectUris.length === 0) {
      throw new TypeError(`${where}.redirectUris: at least one redirect URI is required.`);
    }
    const postLogoutRedirectUris = withLoopbackTwins(
      urls(client.postLogoutRedirectUris ?? [], `${where}.postLogoutRedirectUris`),
    );
    const allowedOrigins =
      client.allowedOrigins === undefined
        ? [...new Set(redirectUris.map((uri) => new URL(uri).origin))]
        : withLoopbackTwins(origins(client.allowedOrigins, `${where}.allowedOrigins`));
    if (client.refreshTokens !== undefined && typeof client.refreshTokens !== "boolean") {
      throw new TypeError(`${where}.refreshTokens: expected a boolean.`);
    }
    return {
      clientId: client.clientId,
      redirectUris,
      postLogoutRedirectUris,
      allowedOrigins,
      refreshTokens: client.refreshTokens ?? true,
    };
  });
}

function urls(value: readonly string[] | undefined, name: string): string[] {
  if (!Array.isArray(value)) throw new TypeError(`${name}: expected an array of URLs.`);
  return value.map((uri, index) => {
    const parsed = typeof uri === "string" ? URL.parse(uri) : null;
    if (parsed === null || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
      throw new TypeError(`${name}[${index}]: expected an absolute http(s) URL.`);
    }
    if (uri.includes("#")) {
      throw new TypeError(`${name}[${index}]: a redirect URI must not contain a fragment.`);
    }
    // Kept as written: the provider compares the string the client sends with this one exactly.
    return uri;
  });
}

function origins(value: readonly string[], name: string): string[] {
  if (!Array.isArray(value)) throw new TypeError(`${name}: expected an array of origins.`);
  return value.map((origin, index) => {
    const parsed = typeof origin === "string" ? URL.parse(origin) : null;
    if (parsed === null || parsed.origin === "null" || parsed.origin !== origin) {
      throw new TypeError(
        `${name}[${index}]: expected an origin such as "http://localhost:5173" (scheme, host and port, no path).`,
      );
    }
    return origin;
  });
}

const LOOPBACK_NAME = /^(https?:\/\/)(localhost|127\.0\.0\.1)(?=[:/?]|$)/i;

/**
 * Adds, after each URL on `localhost` or `127.0.0.1`, the same URL on the other name, as written
 * otherwise (the provider compares strings), without duplicates: browsers treat the two names as
 * two origins, and a developer opens the page under either.
 */
export function withLoopbackTwins(uris: readonly string[]): string[] {
  const all = new Set<string>();
  for (const uri of uris) {
    all.add(uri);
    all.add(
      uri.replace(
        LOOPBACK_NAME,
        (_, scheme: string, host: string) =>
          `${scheme}${host.toLowerCase() === "localhost" ? "127.0.0.1" : "localhost"}`,
      ),
    );
  }
  return [...all];
}
