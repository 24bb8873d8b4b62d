import type Provider from "oidc-provider";
import { preparePage, renderErrorPage } from "./pages.ts";

type Middleware = Parameters<Provider["use"]>[0];

const DISCOVERY_PATHS = new Set([
  "/.well-known/openid-configuration",
  "/.well-known/oauth-authorization-server",
]);

/**
 * Removes the RFC 9207 `iss` authorization response parameter, which Hydra never sends, and
 * stops advertising it in discovery. A client that required `iss` here would break against
 * Hydra; one that works here works there. Only `query` and `fragment` responses (the ones a
 * browser client uses) are rewritten: a `form_post` response still carries `iss`.
 */
export function withoutIssParameter(issuer: string, authorizationPath: string): Middleware {
  return async (ctx, next) => {
    await next();

    if (DISCOVERY_PATHS.has(ctx.path) && isRecord(ctx.body)) {
      delete ctx.body.authorization_response_iss_parameter_supported;
      return;
    }

    const fromAuthorization =
      ctx.path === authorizationPath || ctx.path.startsWith(`${authorizationPath}/`);
    if (!fromAuthorization || ctx.status < 300 || ctx.status > 399) return;
    const location = ctx.response.get("Location");
    const target = location ? URL.parse(location) : null;
    // Relative locations lead back to this server (interactions), never to a client.
    if (target === null || location.startsWith("/")) return;

    let changed = false;
    if (target.searchParams.get("iss") === issuer) {
      target.searchParams.delete("iss");
      changed = true;
    }
    if (target.hash.length > 1) {
      const fragment = new URLSearchParams(target.hash.slice(1));
      if (fragment.get("iss") === issuer) {
        fragment.delete("iss");
        target.hash = fragment.toString();
        changed = true;
      }
    }
    // Going through `redirect` again keeps the status and rewrites the body's link too.
    if (changed) ctx.redirect(target.href);
  };
}

/**
 * Hydra refuses an end-session request that carries `post_logout_redirect_uri` or `state`
 * without `id_token_hint` (only a known ID token tells it which client's URIs to check);
 * oidc-provider would accept it with a `client_id`. Refusing the same way keeps a client that
 * works here from failing on Hydra.
 */
export function hydraLogoutRules(endSessionPath: string): Middleware {
  return async (ctx, next) => {
    if (ctx.path !== endSessionPath || (ctx.method !== "GET" && ctx.method !== "HEAD")) {
      return next();
    }
    const { query } = ctx;
    const hint = query.id_token_hint;
    const present = (name: string) => query[name] !== undefined && query[name] !== "";
    if (
      (hint === undefined || hint === "") &&
      (present("post_logout_redirect_uri") || present("state"))
    ) {
      const nonce = preparePage(ctx);
      ctx.status = 400;
      ctx.body = renderErrorPage({
        nonce,
        title: "Logout refused",
        message:
          "Logout failed because query parameter post_logout_redirect_uri (or state) is set but id_token_hint is missing. Ory Hydra refuses this too: send the ID token you got at login (request the openid scope), or send neither.",
        details: { error: "invalid_request" },
      });
      return;
    }
    return next();
  };
}

/** The shortest `state` Hydra accepts: fosite's minimum parameter entropy, in bytes. */
export const MIN_STATE_BYTES = 8;

/**
 * Hydra (through fosite) refuses an authorization request whose `state` is missing or shorter
 * than 8 bytes, sending the browser back to the client with `error=invalid_state`;
 * oidc-provider accepts any state. The check comes once the client and its redirect URI are
 * known to be right, as in fosite, so other mistakes keep their own errors.
 */
export function hydraStateRule(
  authorizationPath: string,
  redirectAllowed: (clientId: string, redirectUri: string) => boolean,
): Middleware {
  return async (ctx, next) => {
    if (ctx.path === authorizationPath && ctx.method === "GET") {
      const query = new URLSearchParams(ctx.querystring);
      const clientId = query.get("client_id");
      const redirectUri = query.get("redirect_uri");
      const state = query.get("state") ?? "";
      if (
        clientId !== null &&
        redirectUri !== null &&
        redirectAllowed(clientId, redirectUri) &&
        Buffer.byteLength(state) < MIN_STATE_BYTES
      ) {
        const target = new URL(redirectUri);
        target.searchParams.set("error", "invalid_state");
        target.searchParams.set(
          "error_description",
          `The state is missing or does not have enough characters and is therefore considered too weak. Request parameter 'state' must be at least be ${MIN_STATE_BYTES} characters long to ensure sufficient entropy.`,
        );
        if (state !== "") target.searchParams.set("state", state);
        ctx.redirect(target.href);
        return;
      }
    }
    return next();
  };
}

/**
 * Lets `offline_access` work without `prompt=consent`, as on Hydra. OpenID Connect Core §11
 * makes a provider ignore `offline_access` unless the request asks for the consent prompt, and
 * oidc-provider follows it; Hydra does not, and Lenra clients never send `prompt`. Adding
 * `consent` costs nothing visible: the dev server grants consent by itself. Requests with
 * `prompt=none` are left alone (no prompt may be added to them), so they get no refresh token.
 */
export function offlineAccessWithoutPrompt(
  authorizationPath: string,
  allowsRefresh: (clientId: string) => boolean,
): Middleware {
  return async (ctx, next) => {
    if (ctx.path === authorizationPath && ctx.method === "GET") {
      const query = new URLSearchParams(ctx.querystring);
      const clientId = query.get("client_id");
      const scopes = query.get("scope")?.split(" ") ?? [];
      const prompts = new Set(query.get("prompt")?.split(" ").filter(Boolean));
      if (
        clientId !== null &&
        scopes.includes("offline_access") &&
        allowsRefresh(clientId) &&
        !prompts.has("none") &&
        !prompts.has("consent") &&
        query.getAll("prompt").length <= 1
      ) {
        prompts.add("consent");
        query.set("prompt", [...prompts].join(" "));
        ctx.querystring = query.toString();
      }
    }
    return next();
  };
}

/**
 * Answers CORS preflights for the token and revocation endpoints only for origins some client
 * allows. oidc-provider answers every preflight and checks the origin against the client only
 * on the real request (a preflight does not say which client it is for); without this gate a
 * browser would be told any origin may try.
 */
export function corsPreflightGate(
  paths: ReadonlySet<string>,
  allowed: (origin: string) => boolean,
): Middleware {
  return async (ctx, next) => {
    if (ctx.method === "OPTIONS" && paths.has(ctx.path)) {
      const origin = ctx.get("Origin");
      if (origin && !allowed(origin)) {
        ctx.vary("Origin");
        ctx.status = 204;
        return;
      }
    }
    return next();
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Buffer.isBuffer(value);
}
