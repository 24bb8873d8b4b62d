/**
 * The OAuth 2.0 protocol steps, done by oauth4webapi. This module is loaded on demand (dynamic
 * import) the first time an app logs in, handles a callback, refreshes or logs out, so an app
 * that never logs in does not download it.
 */
import * as oauth from "oauth4webapi";
import type { LenraAuthError, LenraErrorCode } from "../errors.ts";
import type { AuthSettings } from "./options.ts";
import type { TokenSet } from "./token-store.ts";

export interface LoginTransaction {
  readonly state: string;
  readonly verifier: string;
  readonly redirectUri: string;
  readonly createdAt: number;
  readonly appState?: unknown;
  readonly returnTo?: string;
}

export type AuthorizationServer = oauth.AuthorizationServer;

export interface FlowContext {
  settings: AuthSettings;
  fetch: typeof fetch | undefined;
  /** `LenraAuthError`, handed in so that this chunk shares no module with the page's code. */
  AuthError: typeof LenraAuthError;
}

function requestOptions(context: FlowContext) {
  return {
    [oauth.allowInsecureRequests]: context.settings.allowInsecureRequests,
    ...(context.fetch ? { [oauth.customFetch]: context.fetch } : {}),
  };
}

function client(context: FlowContext): oauth.Client {
  return { client_id: context.settings.clientId, token_endpoint_auth_method: "none" };
}

/** The authorization server's metadata: from the options, or discovered from the issuer. */
export async function discoverServer(context: FlowContext): Promise<oauth.AuthorizationServer> {
  const { issuer, baseUri = "", ...endpoints } = context.settings;
  if (issuer === undefined) {
    // Hydra's paths under the base URI, unless an option says otherwise.
    const base = baseUri.replace(/\/+$/, "");
    return {
      issuer: base,
      authorization_endpoint: endpoints.authorizationEndpoint ?? `${base}/oauth2/auth`,
      token_endpoint: endpoints.tokenEndpoint ?? `${base}/oauth2/token`,
      revocation_endpoint: endpoints.revocationEndpoint ?? `${base}/oauth2/revoke`,
      end_session_endpoint: endpoints.endSessionEndpoint ?? `${base}/oauth2/sessions/logout`,
      code_challenge_methods_supported: ["S256"],
    };
  }
  const url = new URL(issuer);
  try {
    const response = await oauth.discoveryRequest(url, {
      ...requestOptions(context),
      algorithm: "oidc",
    });
    return await oauth.processDiscoveryResponse(url, response);
  } catch (error) {
    throw tokenRequestError(context, "Could not read the authorization server's metadata", error);
  }
}

/** Starts a login attempt: fresh CSPRNG state and PKCE verifier (S256 only). */
export function createTransaction(
  redirectUri: string,
  appState: unknown,
  returnTo: string | undefined,
): LoginTransaction {
  return {
    state: oauth.generateRandomState(),
    verifier: oauth.generateRandomCodeVerifier(),
    redirectUri,
    createdAt: Date.now(),
    ...(appState === undefined ? {} : { appState }),
    ...(returnTo === undefined ? {} : { returnTo }),
  };
}

/** The authorization request URL of a transaction. */
export async function authorizationUrl(
  context: FlowContext,
  server: oauth.AuthorizationServer,
  transaction: LoginTransaction,
  extraParams: Readonly<Record<string, string>> = {},
): Promise<string> {
  const { settings } = context;
  if (!server.authorization_endpoint) {
    throw new context.AuthError({
      code: "LENRA_TOKEN_REQUEST_FAILED",
      message: "The authorization server has no authorization endpoint.",
    });
  }
  const url = new URL(server.authorization_endpoint);
  for (const [key, value] of Object.entries({ ...settings.extraAuthParams, ...extraParams })) {
    url.searchParams.set(key, value);
  }
  url.searchParams.set("client_id", settings.clientId);
  url.searchParams.set("redirect_uri", transaction.redirectUri);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("scope", settings.scopes.join(settings.scopeDelimiter));
  url.searchParams.set("state", transaction.state);
  url.searchParams.set(
    "code_challenge",
    await oauth.calculatePKCECodeChallenge(transaction.verifier),
  );
  url.searchParams.set("code_challenge_method", "S256");
  return url.href;
}

/**
 * Redeems the code of a callback URL whose state already matched `transaction`. The
 * authorization error of the callback (`error=`) becomes an {@link LenraAuthError}.
 */
export async function redeemCallback(
  context: FlowContext,
  server: oauth.AuthorizationServer,
  callbackUrl: URL,
  transaction: LoginTransaction,
): Promise<TokenSet> {
  let params: URLSearchParams;
  try {
    params = oauth.validateAuthResponse(server, client(context), callbackUrl, transaction.state);
  } catch (error) {
    if (error instanceof oauth.AuthorizationResponseError) {
      throw serverError(context, "LENRA_AUTH_FAILED", "The login was not completed", error);
    }
    // No cause: oauth4webapi's error holds the callback's parameters (the code, the state).
    throw new context.AuthError({
      code: "LENRA_AUTH_CALLBACK_INVALID",
      message: "The login callback is not valid.",
    });
  }
  try {
    const response = await oauth.authorizationCodeGrantRequest(
      server,
      client(context),
      oauth.None(),
      params,
      transaction.redirectUri,
      transaction.verifier,
      requestOptions(context),
    );
    const result = await oauth.processAuthorizationCodeResponse(server, client(context), response);
    return toTokenSet(context, result, undefined);
  } catch (error) {
    throw tokenRequestError(context, "Could not redeem the login code", error);
  }
}

/** Uses a refresh token; the returned set carries the rotated refresh token when the server sent one. */
export async function refreshTokens(
  context: FlowContext,
  server: oauth.AuthorizationServer,
  refreshToken: string,
): Promise<TokenSet> {
  try {
    const response = await oauth.refreshTokenGrantRequest(
      server,
      client(context),
      oauth.None(),
      refreshToken,
      requestOptions(context),
    );
    const result = await oauth.processRefreshTokenResponse(server, client(context), response);
    return toTokenSet(context, result, refreshToken);
  } catch (error) {
    throw tokenRequestError(context, "Could not refresh the session", error);
  }
}

/** Revokes a token (RFC 7009, form-encoded). */
export async function revokeToken(
  context: FlowContext,
  server: oauth.AuthorizationServer,
  token: string,
  hint: "access_token" | "refresh_token",
): Promise<void> {
  if (!server.revocation_endpoint) return;
  const response = await oauth.revocationRequest(server, client(context), oauth.None(), token, {
    ...requestOptions(context),
    additionalParameters: { token_type_hint: hint },
  });
  await oauth.processRevocationResponse(response);
}

/** The end-session URL, when the server has one. */
export function endSessionUrl(
  context: FlowContext,
  server: oauth.AuthorizationServer,
  idToken: string | undefined,
  postLogoutRedirectUri: string | undefined,
): string | undefined {
  if (!server.end_session_endpoint) return undefined;
  const url = new URL(server.end_session_endpoint);
  url.searchParams.set("client_id", context.settings.clientId);
  // Like Hydra, most servers honour post_logout_redirect_uri only with an id_token_hint.
  if (idToken) {
    url.searchParams.set("id_token_hint", idToken);
    if (postLogoutRedirectUri)
      url.searchParams.set("post_logout_redirect_uri", postLogoutRedirectUri);
  }
  return url.href;
}

function toTokenSet(
  context: FlowContext,
  result: oauth.TokenEndpointResponse,
  previousRefreshToken: string | undefined,
): TokenSet {
  if (result.token_type !== "bearer") {
    throw new context.AuthError({
      code: "LENRA_TOKEN_REQUEST_FAILED",
      message: `The token endpoint issued an unsupported "${result.token_type}" token.`,
    });
  }
  const claims = oauth.getValidatedIdTokenClaims(result);
  const now = Date.now();
  return {
    accessToken: result.access_token,
    refreshToken: result.refresh_token ?? previousRefreshToken,
    issuedAt: now,
    expiresAt: typeof result.expires_in === "number" ? now + result.expires_in * 1000 : undefined,
    idToken: result.id_token,
    scopes: typeof result.scope === "string" ? result.scope.split(/\s+/).filter(Boolean) : [],
    claims: claims ? { ...claims } : undefined,
  };
}

/**
 * An error the authorization server answered (`error` and `error_description`, RFC 6749 §5.2 and
 * §4.1.2.1), with them as its `oauthError` and `cause`: never the rest of the reply, which may
 * hold the state.
 */
function serverError(
  context: FlowContext,
  code: LenraErrorCode,
  what: string,
  { error, error_description }: { error: string; error_description?: string | undefined },
): LenraAuthError {
  return new context.AuthError({
    code,
    message: `${what}: ${error}${error_description ? ` (${error_description})` : ""}.`,
    oauthError: error,
    cause: { error, error_description },
  });
}

/**
 * Turns an oauth4webapi failure into a LenraAuthError. The server's error is kept (an
 * `invalid_grant` ends the session); a network failure is kept as the cause. Of oauth4webapi's
 * processing errors, only the code, the message (which names what is wrong, never a value) and
 * the HTTP status are kept, as the cause: their own cause may hold the token response.
 */
function tokenRequestError(context: FlowContext, what: string, error: unknown): LenraAuthError {
  if (error instanceof context.AuthError) return error;
  if (error instanceof oauth.ResponseBodyError) {
    return serverError(
      context,
      error.error === "invalid_grant" ? "LENRA_SESSION_EXPIRED" : "LENRA_TOKEN_REQUEST_FAILED",
      what,
      error,
    );
  }
  let cause = error;
  if (
    error instanceof oauth.OperationProcessingError ||
    error instanceof oauth.UnsupportedOperationError
  ) {
    const { code, message } = error;
    const status = error.cause instanceof Response ? error.cause.status : undefined;
    cause = { code, message, status };
  }
  const { name = "unknown error", message = "" } = error instanceof Error ? error : {};
  return new context.AuthError({
    code: "LENRA_TOKEN_REQUEST_FAILED",
    message: `${what} (${name}${message && `: ${message}`}).`,
    cause,
  });
}
