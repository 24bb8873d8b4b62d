import type * as oauth from "oauth4webapi";
import { CookieJar } from "tough-cookie";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type AuthServer, startAuthServer } from "../src/auth/auth-server.ts";
import { completeDevLogin } from "../src/testing/dev-login.ts";
import {
  authorizationRequest,
  DEV_REDIRECT_URI,
  discover,
  login,
  oauthError,
  refresh,
  revoke,
} from "./fixtures/auth/oauth.ts";

let server: AuthServer;
let as: oauth.AuthorizationServer;

beforeAll(async () => {
  server = await startAuthServer({
    port: 0,
    clients: [
      {
        clientId: "lenra-dev",
        redirectUris: [DEV_REDIRECT_URI, "http://127.0.0.1:5173/redirect.html"],
      },
      {
        clientId: "no-refresh",
        redirectUris: [DEV_REDIRECT_URI],
        refreshTokens: false,
      },
    ],
  });
  as = await discover(server);
});

afterAll(() => server.close());

describe("discovery", () => {
  it("serves Hydra's endpoint paths under an issuer on 127.0.0.1", async () => {
    expect(server.issuer).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.url).toBe(server.issuer);
    expect(as.issuer).toBe(server.issuer);
    expect(as.authorization_endpoint).toBe(`${server.issuer}/oauth2/auth`);
    expect(as.token_endpoint).toBe(`${server.issuer}/oauth2/token`);
    expect(as.revocation_endpoint).toBe(`${server.issuer}/oauth2/revoke`);
    expect(as.end_session_endpoint).toBe(`${server.issuer}/oauth2/sessions/logout`);
    expect(as.jwks_uri).toBe(`${server.issuer}/.well-known/jwks.json`);
    expect(as.userinfo_endpoint).toBe(`${server.issuer}/userinfo`);
    expect(server.endpoints.token).toBe(as.token_endpoint);
  });

  it("advertises S256 only, the Lenra scopes, and no RFC 9207 iss parameter", () => {
    expect(as.code_challenge_methods_supported).toEqual(["S256"]);
    expect(as.response_types_supported).toEqual(["code"]);
    expect(as.scopes_supported).toEqual(
      expect.arrayContaining(["app:websocket", "openid", "offline_access", "offline"]),
    );
    expect(as.authorization_response_iss_parameter_supported).toBeUndefined();
    expect(as.pushed_authorization_request_endpoint).toBeUndefined();
  });

  it("publishes only public signing keys", async () => {
    const jwks = (await (await fetch(as.jwks_uri!)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: "RSA", alg: "RS256", use: "sig" });
    for (const secret of ["d", "p", "q", "dp", "dq", "qi"]) {
      expect(jwks.keys[0]).not.toHaveProperty(secret);
    }
  });
});

describe("authorization code with PKCE", () => {
  it("logs in with oauth4webapi and the token passes verifyAccessToken", async () => {
    const before = Date.now();
    const { tokens, callback, request } = await login(as, {
      username: "alice",
      scope: "app:websocket openid",
    });

    expect(callback.origin + callback.pathname).toBe(DEV_REDIRECT_URI);
    expect(callback.searchParams.get("state")).toBe(request.state);
    expect(callback.searchParams.has("iss")).toBe(false);
    expect(tokens.token_type.toLowerCase()).toBe("bearer");
    expect(tokens.expires_in).toBe(3600);
    expect(tokens.scope?.split(" ").sort()).toEqual(["app:websocket", "openid"]);
    expect(tokens.refresh_token).toBeUndefined();

    const info = await server.verifyAccessToken(tokens.access_token);
    expect(info).toEqual({
      userId: "alice",
      clientId: "lenra-dev",
      scopes: expect.arrayContaining(["app:websocket", "openid"]),
      expiresAt: expect.any(Number),
    });
    expect(info!.expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 3599_000);
    expect(info!.expiresAt).toBeLessThanOrEqual(Date.now() + 3601_000);

    const userinfo = await fetch(as.userinfo_endpoint!, {
      headers: { Authorization: `Bearer ${tokens.access_token}` },
    });
    expect(await userinfo.json()).toEqual({ sub: "alice" });
  });

  it("works without openid: app:websocket alone, no ID token", async () => {
    const { tokens } = await login(as, { username: "bob", scope: "app:websocket" });
    expect(tokens.id_token).toBeUndefined();
    expect(tokens.scope).toBe("app:websocket");
    expect(await server.verifyAccessToken(tokens.access_token)).toMatchObject({
      userId: "bob",
      scopes: ["app:websocket"],
    });
  });

  it("accepts the 127.0.0.1 redirect URI as registered", async () => {
    const { tokens } = await login(as, { redirectUri: "http://127.0.0.1:5173/redirect.html" });
    expect(await server.verifyAccessToken(tokens.access_token)).toBeDefined();
  });

  it("passes an unusual state through unchanged", async () => {
    const state = "a b&c=d/é?<>\"'%20";
    const request = await authorizationRequest(as, { state });
    const callback = new URL(
      await completeDevLogin({ authorizationUrl: request.url, username: "carol" }),
    );
    expect(callback.searchParams.get("state")).toBe(state);
    expect(callback.searchParams.get("code")).toEqual(expect.any(String));
  });

  it("refuses a state shorter than 8 bytes, or none, as Hydra: back to the client with invalid_state", async () => {
    for (const state of ["short", "", "ab\u00e9d"]) {
      const request = await authorizationRequest(as, {
        params: { state: state === "" ? undefined : state },
      });
      const callback = new URL(
        await completeDevLogin({ authorizationUrl: request.url, username: "alice" }),
      );
      expect(`${callback.origin}${callback.pathname}`).toBe(DEV_REDIRECT_URI);
      expect(callback.searchParams.get("error"), state).toBe("invalid_state");
      expect(callback.searchParams.get("error_description")).toMatch(/at least be 8 characters/);
      expect(callback.searchParams.get("state")).toBe(state === "" ? null : state);
      expect(callback.searchParams.has("code")).toBe(false);
    }
    // 8 bytes are enough (é takes two).
    for (const state of ["12345678", "abcdé\u00e9"]) {
      const request = await authorizationRequest(as, { state });
      const callback = new URL(
        await completeDevLogin({ authorizationUrl: request.url, username: "alice" }),
      );
      expect(callback.searchParams.get("state")).toBe(state);
      expect(callback.searchParams.get("code")).toEqual(expect.any(String));
    }
  });

  it("refuses a wrong code_verifier", async () => {
    const request = await authorizationRequest(as);
    const callback = await completeDevLogin({ authorizationUrl: request.url, username: "alice" });
    const code = new URL(callback).searchParams.get("code")!;
    const response = await tokenRequest({
      grant_type: "authorization_code",
      client_id: "lenra-dev",
      code,
      redirect_uri: DEV_REDIRECT_URI,
      code_verifier: "x".repeat(43),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "invalid_grant" });
  });

  it("refuses a token request without code_verifier", async () => {
    const request = await authorizationRequest(as);
    const callback = await completeDevLogin({ authorizationUrl: request.url, username: "alice" });
    const response = await tokenRequest({
      grant_type: "authorization_code",
      client_id: "lenra-dev",
      code: new URL(callback).searchParams.get("code")!,
      redirect_uri: DEV_REDIRECT_URI,
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "invalid_grant" });
  });

  it("refuses the plain PKCE method, back to the client with the state", async () => {
    const verifier = "v".repeat(43);
    const request = await authorizationRequest(as, {
      params: { code_challenge: verifier, code_challenge_method: "plain" },
    });
    const callback = new URL(
      await completeDevLogin({ authorizationUrl: request.url, username: "alice" }),
    );
    expect(callback.searchParams.get("error")).toBe("invalid_request");
    expect(callback.searchParams.get("state")).toBe(request.state);
    expect(callback.searchParams.has("code")).toBe(false);
    expect(callback.searchParams.has("iss")).toBe(false);
  });

  it("refuses an authorization request without PKCE", async () => {
    const request = await authorizationRequest(as, {
      params: { code_challenge: undefined, code_challenge_method: undefined },
    });
    const callback = new URL(
      await completeDevLogin({ authorizationUrl: request.url, username: "alice" }),
    );
    expect(callback.searchParams.get("error")).toBe("invalid_request");
    expect(callback.searchParams.get("error_description")).toMatch(/PKCE/);
    expect(callback.searchParams.has("code")).toBe(false);
  });

  it("refuses a code sent with another redirect_uri than the authorization's", async () => {
    const request = await authorizationRequest(as);
    const callback = await completeDevLogin({ authorizationUrl: request.url, username: "alice" });
    const response = await tokenRequest({
      grant_type: "authorization_code",
      client_id: "lenra-dev",
      code: new URL(callback).searchParams.get("code")!,
      redirect_uri: "http://127.0.0.1:5173/redirect.html",
      code_verifier: request.verifier,
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "invalid_grant" });
  });

  it.each([
    "http://localhost:5173/redirect.html/",
    "http://localhost:5173/redirect.html?x=1",
    "http://localhost:5173/other.html",
    "http://LOCALHOST:5173/redirect.html",
    "http://localhost:5174/redirect.html",
    "https://evil.example/redirect.html",
  ])("refuses the unregistered redirect_uri %s without redirecting", async (redirectUri) => {
    const request = await authorizationRequest(as, { redirectUri });
    const response = await fetch(request.url, { redirect: "manual" });
    expect(response.status).toBe(400);
    expect(response.headers.get("Location")).toBeNull();
    const html = await response.text();
    expect(html).toContain("invalid_redirect_uri");
  });

  it("refuses an unknown client without redirecting", async () => {
    const request = await authorizationRequest(as, { clientId: "nobody" });
    const response = await fetch(request.url, { redirect: "manual" });
    expect(response.status).toBe(400);
    expect(response.headers.get("Location")).toBeNull();
  });

  it("uses a code once", async () => {
    const request = await authorizationRequest(as);
    const callback = await completeDevLogin({ authorizationUrl: request.url, username: "alice" });
    const body = {
      grant_type: "authorization_code",
      client_id: "lenra-dev",
      code: new URL(callback).searchParams.get("code")!,
      redirect_uri: DEV_REDIRECT_URI,
      code_verifier: request.verifier,
    };
    expect((await tokenRequest(body)).status).toBe(200);
    const again = await tokenRequest(body);
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: "invalid_grant" });
  });
});

describe("refresh tokens", () => {
  it("rotates: new tokens each time, the old refresh token is refused afterwards", async () => {
    const { tokens, client } = await login(as, { scope: "app:websocket offline_access" });
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(tokens.scope?.split(" ").sort()).toEqual(["app:websocket", "offline_access"]);

    const second = await refresh(as, client, tokens.refresh_token!);
    expect(second.access_token).not.toBe(tokens.access_token);
    expect(second.refresh_token).toEqual(expect.any(String));
    expect(second.refresh_token).not.toBe(tokens.refresh_token);
    expect(await server.verifyAccessToken(second.access_token)).toMatchObject({ userId: "alice" });

    const third = await refresh(as, client, second.refresh_token!);
    expect(third.refresh_token).not.toBe(second.refresh_token);
    // Unlike Hydra, earlier access tokens live on until they expire (documented difference).
    expect(await server.verifyAccessToken(tokens.access_token)).toBeDefined();

    expect(await oauthError(refresh(as, client, tokens.refresh_token!))).toBe("invalid_grant");
  });

  it("treats reuse of a rotated refresh token as theft: the whole grant is revoked", async () => {
    const { tokens, client } = await login(as, { scope: "app:websocket offline_access" });
    const rotated = await refresh(as, client, tokens.refresh_token!);

    expect(await oauthError(refresh(as, client, tokens.refresh_token!))).toBe("invalid_grant");

    expect(await server.verifyAccessToken(rotated.access_token)).toBeUndefined();
    expect(await server.verifyAccessToken(tokens.access_token)).toBeUndefined();
    expect(await oauthError(refresh(as, client, rotated.refresh_token!))).toBe("invalid_grant");
  });

  it("accepts Hydra's scope name `offline` as well", async () => {
    const { tokens, client } = await login(as, { scope: "app:websocket offline" });
    expect(tokens.refresh_token).toEqual(expect.any(String));
    const next = await refresh(as, client, tokens.refresh_token!);
    expect(next.refresh_token).toEqual(expect.any(String));
  });

  it("issues none without offline_access", async () => {
    const { tokens } = await login(as, { scope: "app:websocket openid" });
    expect(tokens.refresh_token).toBeUndefined();
  });

  it("issues none to a client configured without refresh tokens", async () => {
    for (const scope of ["app:websocket offline_access", "app:websocket offline"]) {
      const { tokens } = await login(as, { clientId: "no-refresh", scope });
      expect(tokens.refresh_token).toBeUndefined();
      expect(tokens.scope).not.toMatch(/offline_access/);
      expect(await server.verifyAccessToken(tokens.access_token)).toMatchObject({
        clientId: "no-refresh",
      });
    }
    const response = await tokenRequest({
      grant_type: "refresh_token",
      client_id: "no-refresh",
      refresh_token: "anything",
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: "invalid_request",
      error_description: "requested grant type is not allowed for this client",
    });
  });

  it("refuses another client's refresh token", async () => {
    const { tokens } = await login(as, { scope: "app:websocket offline_access" });
    const response = await tokenRequest({
      grant_type: "refresh_token",
      client_id: "no-refresh",
      refresh_token: tokens.refresh_token!,
    });
    expect(response.status).toBe(400);
  });
});

describe("revocation (RFC 7009)", () => {
  it("revokes an access token: verifyAccessToken then returns undefined", async () => {
    const { tokens, client } = await login(as, { scope: "app:websocket" });
    expect(await server.verifyAccessToken(tokens.access_token)).toBeDefined();
    await revoke(as, client, tokens.access_token);
    expect(await server.verifyAccessToken(tokens.access_token)).toBeUndefined();
  });

  it("revokes a refresh token: refreshing is refused and its access tokens die too", async () => {
    const { tokens, client } = await login(as, { scope: "app:websocket offline_access" });
    await revoke(as, client, tokens.refresh_token!);
    expect(await oauthError(refresh(as, client, tokens.refresh_token!))).toBe("invalid_grant");
    expect(await server.verifyAccessToken(tokens.access_token)).toBeUndefined();
  });

  it("takes a form-encoded body and answers 200 for an unknown token", async () => {
    const response = await fetch(as.revocation_endpoint!, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: "not-a-token", client_id: "lenra-dev" }),
    });
    expect(response.status).toBe(200);
  });

  it("ignores a client revoking another client's token", async () => {
    const { tokens } = await login(as, { scope: "app:websocket" });
    const response = await fetch(as.revocation_endpoint!, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: tokens.access_token, client_id: "no-refresh" }),
    });
    expect(response.status).toBe(200);
    expect(await server.verifyAccessToken(tokens.access_token)).toBeDefined();
  });
});

describe("verifyAccessToken", () => {
  it("returns undefined for anything that is not a live token of this server", async () => {
    expect(await server.verifyAccessToken("")).toBeUndefined();
    expect(await server.verifyAccessToken("nope")).toBeUndefined();
    expect(await server.verifyAccessToken("x".repeat(10_000))).toBeUndefined();
    expect(await server.verifyAccessToken(undefined as unknown as string)).toBeUndefined();

    const { tokens } = await login(as, { scope: "app:websocket offline_access" });
    expect(await server.verifyAccessToken(tokens.refresh_token!)).toBeUndefined();

    const other = await startAuthServer({ port: 0 });
    try {
      expect(await other.verifyAccessToken(tokens.access_token)).toBeUndefined();
    } finally {
      await other.close();
    }
  });

  it("returns undefined once the access token expired", async () => {
    // 3 s: the provider counts whole seconds from the current one, so a 1 s token may be dead
    // before a loaded machine verifies it once.
    const short = await startAuthServer({ port: 0, accessTokenTtl: 3 });
    try {
      const { tokens } = await login(await discover(short), { username: "dora" });
      expect(tokens.expires_in).toBe(3);
      expect(await short.verifyAccessToken(tokens.access_token)).toMatchObject({
        userId: "dora",
      });
      // The provider counts whole seconds: the token is dead at most three seconds later.
      await vi.waitFor(
        async () => expect(await short.verifyAccessToken(tokens.access_token)).toBeUndefined(),
        { timeout: 5000, interval: 100 },
      );
    } finally {
      await short.close();
    }
  });
});

describe("single sign-on", () => {
  it("skips the form while the login session lasts", async () => {
    const cookies = new CookieJar();
    await login(as, { username: "erin", cookies });
    const request = await authorizationRequest(as);
    // An empty user name would fail the form: reaching the callback proves no form was shown.
    const callback = new URL(
      await completeDevLogin({ authorizationUrl: request.url, username: "", cookies }),
    );
    expect(callback.searchParams.get("code")).toEqual(expect.any(String));
  });

  it("still asks nothing when the app asks for offline_access later", async () => {
    const cookies = new CookieJar();
    await login(as, { username: "erin", cookies, scope: "app:websocket" });
    const { tokens } = await login(as, {
      username: "",
      cookies,
      scope: "app:websocket offline_access",
    });
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(await server.verifyAccessToken(tokens.access_token)).toMatchObject({ userId: "erin" });
  });
});

async function tokenRequest(body: Record<string, string>): Promise<Response> {
  return fetch(as.token_endpoint!, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(body),
  });
}
