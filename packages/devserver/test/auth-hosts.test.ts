/**
 * An app may name the dev auth server `localhost` or `127.0.0.1`: each name gets metadata and ID
 * tokens for itself, tokens from one are good on the other, and a loopback redirect URI is
 * accepted under both names.
 */
import * as oauth from "oauth4webapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuthServer, startAuthServer } from "../src/auth/auth-server.ts";
import { completeDevLogin } from "../src/testing/dev-login.ts";
import { authorizationRequest, HTTP, login, redeem, refresh } from "./fixtures/auth/oauth.ts";

let server: AuthServer;
let viaLocalhost: oauth.AuthorizationServer;
let viaIp: oauth.AuthorizationServer;

async function discoverAt(issuer: string): Promise<oauth.AuthorizationServer> {
  const url = new URL(issuer);
  return oauth.processDiscoveryResponse(url, await oauth.discoveryRequest(url, HTTP));
}

beforeAll(async () => {
  server = await startAuthServer({
    port: 0,
    clients: [
      { clientId: "lenra-dev", redirectUris: ["http://localhost:5173/redirect.html"] },
      { clientId: "ip-only", redirectUris: ["http://127.0.0.1:6001/cb?x=1"] },
    ],
  });
  viaIp = await discoverAt(server.issuer);
  viaLocalhost = await discoverAt(`http://localhost:${server.port}`);
});

afterAll(() => server.close());

describe("the issuer under both loopback names", () => {
  it("answers discovery for the name the app used", () => {
    expect(server.issuer).toBe(`http://127.0.0.1:${server.port}`);
    expect(viaIp.issuer).toBe(server.issuer);
    expect(viaLocalhost.issuer).toBe(`http://localhost:${server.port}`);
    expect(viaLocalhost.token_endpoint).toBe(`http://localhost:${server.port}/oauth2/token`);
    expect(viaLocalhost.authorization_endpoint).toBe(`http://localhost:${server.port}/oauth2/auth`);
  });

  it("signs ID tokens for that name with the same keys, and its tokens work on both", async () => {
    const jwks = async (as: oauth.AuthorizationServer) =>
      ((await (await fetch(as.jwks_uri!)).json()) as { keys: { kid: string }[] }).keys;
    expect(await jwks(viaLocalhost)).toEqual(await jwks(viaIp));

    // oauth4webapi checks the ID token's iss against the issuer it discovered.
    const { tokens, client } = await login(viaLocalhost, {
      username: "lou",
      scope: "openid app:websocket offline_access",
    });
    expect(oauth.getValidatedIdTokenClaims(tokens)?.iss).toBe(viaLocalhost.issuer);
    expect(await server.verifyAccessToken(tokens.access_token)).toMatchObject({ userId: "lou" });
    const refreshed = await refresh(viaIp, client, tokens.refresh_token!);
    expect(await server.verifyAccessToken(refreshed.access_token)).toMatchObject({
      userId: "lou",
    });
  });
});

describe("loopback redirect URIs", () => {
  it("lists each under both names, as written otherwise", () => {
    expect(server.clients.map((client) => client.redirectUris)).toEqual([
      ["http://localhost:5173/redirect.html", "http://127.0.0.1:5173/redirect.html"],
      ["http://127.0.0.1:6001/cb?x=1", "http://localhost:6001/cb?x=1"],
    ]);
    expect(server.clients[1]?.allowedOrigins).toEqual([
      "http://127.0.0.1:6001",
      "http://localhost:6001",
    ]);
  });

  it("sends the code back to the name the app registered under the other one", async () => {
    const redirectUri = "http://localhost:6001/cb?x=1";
    const request = await authorizationRequest(viaIp, { clientId: "ip-only", redirectUri });
    const callback = new URL(
      await completeDevLogin({ authorizationUrl: request.url, username: "max" }),
    );
    expect(callback.origin + callback.pathname).toBe("http://localhost:6001/cb");
    const tokens = await redeem(viaIp, request, callback, "ip-only", redirectUri);
    expect(await server.verifyAccessToken(tokens.access_token)).toMatchObject({ userId: "max" });
  });
});
