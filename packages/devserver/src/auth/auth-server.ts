import type { EventEmitter } from "node:events";
import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import type { ClientMetadata, Configuration } from "oidc-provider";
import { createLog, type DevServerLogger } from "../shared/log.ts";
import type { SavedSection } from "../shared/saved-section.ts";
import {
  DEFAULT_DEV_CLIENT_PORTS,
  type DevClientOptions,
  defaultDevClient,
  type ResolvedDevClient,
  resolveDevClients,
} from "./dev-clients.ts";
import {
  corsPreflightGate,
  hydraLogoutRules,
  hydraStateRule,
  offlineAccessWithoutPrompt,
  withoutIssParameter,
} from "./hydra-compat.ts";
import { devInteractionPolicy, devInteractions, INTERACTION_PREFIX } from "./interactions.ts";
import { deriveKey, generateCookieKeys, generateSigningKeys, type PrivateJwks } from "./keys.ts";
import { loadOidcProvider } from "./load-provider.ts";
import { createMemoryStore } from "./memory-adapter.ts";
import {
  DEV_USERNAME_PATTERN,
  preparePage,
  renderErrorPage,
  renderLoggedOutPage,
  renderLogoutPage,
} from "./pages.ts";
import { parseSavedAuth, type SavedAuth } from "./saved-auth.ts";

/** The port Hydra's public API listens on, and so the dev auth server's ([PROTOCOL §1]). */
export const DEFAULT_AUTH_PORT = 4444;

/** The scope a Lenra client asks for to open the app socket. */
export const DEFAULT_SCOPE = "app:websocket";

/**
 * The scopes the server knows. `offline_access` (OIDC) and `offline` (Hydra's name) both ask for
 * a refresh token; other scopes a client asks for are ignored, as Hydra's are when not granted.
 */
export const SUPPORTED_SCOPES: readonly string[] = [
  DEFAULT_SCOPE,
  "openid",
  "offline_access",
  "offline",
];

/** Endpoint paths, the same as Ory Hydra's public API. */
export const AUTH_PATHS = {
  discovery: "/.well-known/openid-configuration",
  jwks: "/.well-known/jwks.json",
  authorization: "/oauth2/auth",
  token: "/oauth2/token",
  revocation: "/oauth2/revoke",
  endSession: "/oauth2/sessions/logout",
  userinfo: "/userinfo",
} as const;

/**
 * The absolute URL of each endpoint of the OAuth server, on Ory Hydra's paths.
 *
 * @example
 * ```ts
 * server.auth.endpoints.authorization; // "http://127.0.0.1:4444/oauth2/auth"
 * server.auth.endpoints.token; // "http://127.0.0.1:4444/oauth2/token"
 * ```
 */
export type AuthEndpoints = { readonly [K in keyof typeof AUTH_PATHS]: string };

/**
 * Options of {@link startAuthServer}.
 *
 * @example
 * ```ts
 * const auth = await startAuthServer({
 *   port: 0,
 *   accessTokenTtl: 60,
 *   clients: [{ clientId: "test-app", redirectUris: ["http://localhost:5999/redirect.html"] }],
 * });
 * ```
 */
export interface AuthServerOptions {
  /** TCP port to listen on; `0` picks a free one. Defaults to 4444 (Hydra's). */
  port?: number;
  /** Loopback address to listen on. Defaults to `127.0.0.1`. */
  host?: string;
  /**
   * The issuer identifier, which is also the base of every endpoint URL. Defaults to
   * `http://<host>:<port>` with the port actually bound. Plain http is accepted for loopback
   * hosts only.
   */
  issuer?: string;
  /** The OAuth clients. Defaults to one dev client, `lenra-dev` (see `devClientPorts`). */
  clients?: readonly DevClientOptions[];
  /**
   * Ports of the web apps the default dev client redirects to (`/redirect.html` on localhost
   * and 127.0.0.1). Ignored when `clients` is given. Defaults to 5173, 5174, 4173 and 4174.
   */
  devClientPorts?: readonly number[];
  /** Access token lifetime in seconds. Defaults to 3600 (Hydra's). */
  accessTokenTtl?: number;
  /** Lifetime of each refresh token in seconds (each rotation starts a new one). Defaults to 30 days (Hydra's). */
  refreshTokenTtl?: number;
  /** How long the login session lasts, in seconds. Defaults to one day. */
  sessionTtl?: number;
  /** Keys signing the session cookies. Defaults to random keys generated at start. */
  cookieKeys?: readonly string[];
  /** Private JWKS signing ID tokens. Defaults to a fresh RS256 key generated at start. */
  jwks?: PrivateJwks;
  /**
   * Where the keys and logins (grants, sessions, tokens) outlive this server: the `auth` section
   * of a data file (`store.section("auth")` of a `DataStore` opened on it), so a server
   * started later on the same file accepts the tokens issued now. Keys given as `jwks` or
   * `cookieKeys` win over saved ones. Close this server before the store, which writes the
   * file. Defaults to memory only: logins last as long as this server.
   */
  persistence?: SavedSection;
  /** Receives diagnostics; never tokens. Defaults to silence. */
  logger?: DevServerLogger;
}

/**
 * What `verifyAccessToken` knows about a valid access token.
 *
 * @example
 * ```ts
 * const info = await auth.verifyAccessToken(token);
 * if (info) ({ userId: info.userId, roles: ["user"] }); // the socket's identity
 * ```
 */
export interface AccessTokenInfo {
  /** The account id: the user name typed on the dev login page (the token's `sub`). */
  userId: string;
  /** The scopes granted to the token. */
  scopes: string[];
  /** When the token expires, in milliseconds since the epoch (like `Date.now()`). */
  expiresAt: number;
  /** The client the token was issued to. */
  clientId: string;
}

/**
 * A running OAuth server: where a client logs in, and how a socket server checks its tokens.
 *
 * @example
 * ```ts
 * const auth = await startAuthServer({ port: 0 });
 * lenraLogin({ clientId: "lenra-dev", baseUri: auth.url, allowInsecureRequests: true });
 * await auth.close();
 * ```
 */
export interface AuthServer {
  /** The issuer identifier (no trailing slash), e.g. `http://127.0.0.1:4444`. */
  readonly issuer: string;
  /** The base URL of the server; the same as `issuer`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Absolute URL of every endpoint. */
  readonly endpoints: AuthEndpoints;
  /** The clients as configured, defaults filled in: for a CLI to print. */
  readonly clients: readonly ResolvedDevClient[];
  readonly scopes: readonly string[];
  /**
   * Looks an access token up in this process: `undefined` when it is unknown, expired, revoked or
   * malformed. The dev server calls it on each socket connection.
   */
  verifyAccessToken(token: string): Promise<AccessTokenInfo | undefined>;
  /** Stops listening, drops open connections and forgets every token. */
  close(): Promise<void>;
}

const LOOPBACK_HOSTS = /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\])$/;
const DAY = 24 * 60 * 60;
/** Authorization codes live 10 minutes, as on Hydra. */
const CODE_TTL = 600;
const ID_TOKEN_TTL = 3600;
/** Hydra gives a person 30 minutes to get through login. */
const INTERACTION_TTL = 1800;

/**
 * Starts an OAuth 2.0 authorization server on Hydra's paths for browser public clients:
 * authorization code with PKCE S256 ([RFC 7636](https://www.rfc-editor.org/rfc/rfc7636)),
 * refresh-token rotation, revocation ([RFC 7009](https://www.rfc-editor.org/rfc/rfc7009)),
 * RP-initiated logout, and a dev login page that takes a user name and no password. It listens
 * on loopback only and keeps everything in memory.
 *
 * @example
 * ```ts
 * import { createTestApp, startAuthServer } from "@lenra/devserver/testing";
 *
 * const auth = await startAuthServer({ port: 0 });
 * const app = createTestApp({
 *   state: {},
 *   routes: { "/me": { view: (_state, { me }) => ({ me }) } },
 *   async authenticate({ params }) {
 *     const info = typeof params.token === "string" ? await auth.verifyAccessToken(params.token) : undefined;
 *     return info ? { userId: info.userId, roles: ["user"] } : { roles: ["guest"] };
 *   },
 * });
 * ```
 */
export async function startAuthServer(options: AuthServerOptions = {}): Promise<AuthServer> {
  const settings = readOptions(options);
  const log = createLog(options.logger);
  const clients = resolveDevClients(
    options.clients ?? [defaultDevClient(options.devClientPorts ?? DEFAULT_DEV_CLIENT_PORTS)],
  );
  const { persistence } = options;
  const saved = persistence?.load(parseSavedAuth);
  const [{ default: Provider, interactionPolicy }, jwks] = await Promise.all([
    loadOidcProvider(log),
    options.jwks ?? saved?.jwks ?? generateSigningKeys(),
  ]);
  const cookieKeys = options.cookieKeys
    ? [...options.cookieKeys]
    : (saved?.cookieKeys ?? generateCookieKeys());

  // Listen first: with port 0 the issuer, which holds the port, is known only once bound.
  let handle: RequestListener | undefined;
  const server = createServer((req, res) => {
    if (handle) return handle(req, res);
    res.statusCode = 503;
    res.end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(settings.port, settings.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const snapshot = (): SavedAuth => ({ version: 1, jwks, cookieKeys, entries: store.entries() });
  const store = createMemoryStore(() => persistence?.save(snapshot));
  if (saved) store.restore(saved.entries);
  // New keys go to the file at once: an ID token signed before the first save stays verifiable.
  else persistence?.save(snapshot);

  try {
    const issuer = settings.issuer ?? `http://${urlHost(settings.host)}:${port}`;
    const supportedScopes = new Set(SUPPORTED_SCOPES);
    const originsOf = new Map(clients.map((c) => [c.clientId, new Set(c.allowedOrigins)]));
    const anyClientOrigin = new Set(clients.flatMap((c) => c.allowedOrigins));
    const asksForRefresh = (scopes: Set<string>) =>
      scopes.has("offline_access") || scopes.has("offline");

    const csrfKey = deriveKey(cookieKeys[0]!, "dev login form");
    /**
     * One provider per issuer: the configured one and, for a loopback issuer, its twin on the
     * other loopback name (localhost and 127.0.0.1), so an app may name either. Both share the
     * clients, keys and stored tokens.
     */
    const createProvider = (issuer: string) => {
      const configuration: Configuration = {
        adapter: store.adapterFor,
        clients: clients.map(toClientMetadata),
        clientBasedCORS: (_ctx, origin, client) =>
          originsOf.get(client.clientId)?.has(origin) ?? false,
        cookies: {
          keys: cookieKeys,
          long: { httpOnly: true, sameSite: "lax", signed: true },
          short: { httpOnly: true, sameSite: "lax", signed: true },
        },
        jwks: jwks as Configuration["jwks"],
        features: {
          devInteractions: { enabled: false },
          // Hydra has neither; a client relying on them here would fail there.
          pushedAuthorizationRequests: { enabled: false },
          dPoP: { enabled: false },
          introspection: { enabled: false },
          userinfo: { enabled: true },
          revocation: {
            enabled: true,
            // A public client may revoke only its own tokens; others are ignored silently (RFC 7009 §2.2).
            allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
          },
          rpInitiatedLogout: {
            enabled: true,
            logoutSource: async (ctx, form) => {
              const nonce = preparePage(ctx);
              const formId = /\bid="([^"]+)"/.exec(form)?.[1] ?? "op.logoutForm";
              ctx.body = renderLogoutPage({ nonce, form, formId });
            },
            postLogoutSuccessSource: async (ctx) => {
              const nonce = preparePage(ctx);
              ctx.body = renderLoggedOutPage({ nonce, clientId: ctx.oidc.client?.clientId });
            },
          },
        },
        findAccount: async (_ctx, sub) =>
          DEV_USERNAME_PATTERN.test(sub)
            ? { accountId: sub, claims: async () => ({ sub }) }
            : undefined,
        interactions: {
          policy: devInteractionPolicy(interactionPolicy),
          url: async (_ctx, interaction) => `${INTERACTION_PREFIX}${interaction.uid}`,
        },
        issueRefreshToken: async (_ctx, client, code) =>
          client.grantTypeAllowed("refresh_token") && asksForRefresh(code.scopes),
        // Like Hydra: tokens do not die with the login session, so logout leaves them valid and a
        // client revokes its own tokens (RFC 7009) when it logs out.
        expiresWithSession: async () => false,
        rotateRefreshToken: true,
        pkce: { required: () => true },
        renderError: async (ctx, out) => {
          const nonce = preparePage(ctx);
          ctx.body = renderErrorPage({
            nonce,
            title: "Authorization error",
            message:
              "The request could not be completed. Check the client id, redirect URI and parameters the application sent.",
            details: { error: out.error, error_description: out.error_description },
          });
        },
        responseTypes: ["code"],
        routes: {
          authorization: AUTH_PATHS.authorization,
          token: AUTH_PATHS.token,
          revocation: AUTH_PATHS.revocation,
          end_session: AUTH_PATHS.endSession,
          jwks: AUTH_PATHS.jwks,
          userinfo: AUTH_PATHS.userinfo,
        },
        scopes: [...SUPPORTED_SCOPES],
        ttl: {
          AccessToken: settings.accessTokenTtl,
          AuthorizationCode: CODE_TTL,
          IdToken: ID_TOKEN_TTL,
          RefreshToken: settings.refreshTokenTtl,
          Interaction: INTERACTION_TTL,
          Session: settings.sessionTtl,
          // The grant holds a refresh chain together, so it outlives any single refresh token.
          Grant: Math.max(settings.refreshTokenTtl, settings.sessionTtl) * 12,
        },
      };

      const provider = new Provider(issuer, configuration);
      // Never trust X-Forwarded-* headers: nothing sits in front of a loopback dev server.
      provider.proxy = false;

      provider.use(
        corsPreflightGate(
          new Set([AUTH_PATHS.token, AUTH_PATHS.revocation, AUTH_PATHS.userinfo]),
          (origin) => anyClientOrigin.has(origin),
        ),
      );
      provider.use(hydraLogoutRules(AUTH_PATHS.endSession));
      provider.use(
        hydraStateRule(
          AUTH_PATHS.authorization,
          (clientId, uri) =>
            clients.find((c) => c.clientId === clientId)?.redirectUris.includes(uri) === true,
        ),
      );
      provider.use(
        offlineAccessWithoutPrompt(
          AUTH_PATHS.authorization,
          (clientId) => clients.find((c) => c.clientId === clientId)?.refreshTokens === true,
        ),
      );
      provider.use(withoutIssParameter(issuer, AUTH_PATHS.authorization));
      provider.use(devInteractions(provider, supportedScopes, csrfKey, log));

      provider.on("server_error", (ctx, error) => {
        log.error("auth: internal error", { path: ctx.path, error: error.message });
      });
      const describe = (error: { message: string; error_description?: string }) => ({
        error: error.message,
        description: error.error_description,
      });
      provider.on("grant.error", (_ctx, error) =>
        log.debug("auth: token request refused", describe(error)),
      );
      provider.on("authorization.error", (_ctx, error) =>
        log.debug("auth: authorization request refused", describe(error)),
      );
      provider.on("revocation.error", (_ctx, error) =>
        log.debug("auth: revocation refused", describe(error)),
      );
      provider.on("end_session.error", (_ctx, error) =>
        log.debug("auth: logout refused", describe(error)),
      );
      // Koa prints unhandled request errors to stderr unless someone listens to them.
      (provider as unknown as EventEmitter).on("error", (error: Error) => {
        log.error("auth: request failed", { error: error.message });
      });
      return provider;
    };
    const provider = createProvider(issuer);
    const byHost = new Map<string, RequestListener>([[new URL(issuer).host, provider.callback()]]);
    const twin = twinIssuer(issuer);
    if (twin !== undefined) byHost.set(new URL(twin).host, createProvider(twin).callback());
    // Any other Host (a name that resolves to loopback) gets the configured issuer, as before.
    const fallback = byHost.get(new URL(issuer).host)!;

    handle = (req, res) =>
      (byHost.get(req.headers.host?.toLowerCase() ?? "") ?? fallback)(req, res);

    const endpoints = Object.fromEntries(
      Object.entries(AUTH_PATHS).map(([name, path]) => [name, `${issuer}${path}`]),
    ) as unknown as AuthEndpoints;

    let closing: Promise<void> | undefined;
    log.info("auth: server started", { issuer, clients: clients.map((c) => c.clientId) });

    return {
      issuer,
      url: issuer,
      host: settings.host,
      port,
      endpoints,
      clients,
      scopes: SUPPORTED_SCOPES,
      async verifyAccessToken(token) {
        // Opaque tokens are ~43 characters; a huge or non-string value is never one of ours.
        if (typeof token !== "string" || token.length === 0 || token.length > 512) return undefined;
        const found = await provider.AccessToken.find(token);
        if (found === undefined || found.isExpired || typeof found.accountId !== "string") {
          return undefined;
        }
        const grant = found.grantId ? await provider.Grant.find(found.grantId) : undefined;
        if (
          grant === undefined ||
          grant.accountId !== found.accountId ||
          grant.clientId !== found.clientId
        ) {
          return undefined;
        }
        return {
          userId: found.accountId,
          clientId: found.clientId!,
          scopes: (found.scope ?? "").split(" ").filter(Boolean),
          expiresAt: found.exp! * 1000,
        };
      },
      close() {
        closing ??= new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }).then(() => {
          if (persistence) {
            // The data file is written after this server stopped (the data store closes last):
            // hand it what this server holds now, before forgetting it.
            const last = snapshot();
            try {
              persistence.save(() => last);
            } catch (error) {
              log.error("auth: the logins of this run could not be saved", {
                error: error instanceof Error ? error.message : String(error),
              });
            }
          }
          store.clear();
          log.info("auth: server stopped", { issuer });
        });
        return closing;
      },
    };
  } catch (error) {
    server.closeAllConnections();
    server.close();
    throw error;
  }
}

function toClientMetadata(client: ResolvedDevClient): ClientMetadata {
  return {
    client_id: client.clientId,
    application_type: "web",
    token_endpoint_auth_method: "none",
    redirect_uris: [...client.redirectUris],
    post_logout_redirect_uris: [...client.postLogoutRedirectUris],
    response_types: ["code"],
    grant_types: client.refreshTokens
      ? ["authorization_code", "refresh_token"]
      : ["authorization_code"],
  };
}

interface Settings {
  port: number;
  host: string;
  issuer: string | undefined;
  accessTokenTtl: number;
  refreshTokenTtl: number;
  sessionTtl: number;
}

function readOptions(options: AuthServerOptions): Settings {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("options: expected an object.");
  }
  const port = options.port ?? DEFAULT_AUTH_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new TypeError("port: expected an integer from 0 to 65535 (0 picks a free port).");
  }
  const host = options.host ?? "127.0.0.1";
  if (typeof host !== "string" || !LOOPBACK_HOSTS.test(host)) {
    throw new TypeError(
      "host: the dev auth server has no passwords, so it listens on a loopback address only (127.0.0.1, ::1 or localhost).",
    );
  }
  return {
    port,
    host: host.replace(/^\[(.*)\]$/, "$1"),
    issuer: options.issuer === undefined ? undefined : readIssuer(options.issuer),
    accessTokenTtl: seconds(options.accessTokenTtl, 3600, "accessTokenTtl"),
    refreshTokenTtl: seconds(options.refreshTokenTtl, 30 * DAY, "refreshTokenTtl"),
    sessionTtl: seconds(options.sessionTtl, DAY, "sessionTtl"),
  };
}

function readIssuer(issuer: string): string {
  const parsed = typeof issuer === "string" ? URL.parse(issuer) : null;
  if (
    parsed === null ||
    (parsed.protocol !== "http:" && parsed.protocol !== "https:") ||
    parsed.pathname !== "/" ||
    parsed.search !== "" ||
    parsed.hash !== "" ||
    parsed.username !== "" ||
    parsed.password !== ""
  ) {
    throw new TypeError(
      'issuer: expected an origin such as "http://localhost:4444" (no path, query or fragment).',
    );
  }
  if (parsed.protocol === "http:" && !LOOPBACK_HOSTS.test(parsed.hostname)) {
    throw new TypeError("issuer: plain http is allowed for loopback hosts only.");
  }
  return parsed.origin;
}

function seconds(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(`${name}: expected a whole number of seconds, at least 1.`);
  }
  return value;
}

/**
 * The issuer on the other loopback name (`localhost` for `127.0.0.1`, and back), for a loopback
 * issuer: an app that names either host gets ID tokens and metadata for the name it used.
 */
function twinIssuer(issuer: string): string | undefined {
  const url = new URL(issuer);
  const twins: Record<string, string> = { localhost: "127.0.0.1", "127.0.0.1": "localhost" };
  const other = Object.hasOwn(twins, url.hostname) ? twins[url.hostname] : undefined;
  if (other === undefined) return undefined;
  url.hostname = other;
  return url.origin;
}

function urlHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}
