import type * as oauth from "oauth4webapi";
import { CookieJar } from "tough-cookie";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { type AuthServer, startAuthServer } from "../src/auth/auth-server.ts";
import { DEFAULT_DEV_CLIENT_ID } from "../src/auth/dev-clients.ts";
import { completeDevLogin, DevLoginError, devLogout } from "../src/testing/dev-login.ts";
import {
  authorizationRequest,
  DEV_ORIGIN,
  DEV_REDIRECT_URI,
  discover,
  login,
  open,
  postForm,
} from "./fixtures/auth/oauth.ts";

let server: AuthServer;
let as: oauth.AuthorizationServer;

beforeAll(async () => {
  server = await startAuthServer({
    port: 0,
    clients: [
      {
        clientId: "lenra-dev",
        redirectUris: [DEV_REDIRECT_URI],
        postLogoutRedirectUris: [`${DEV_ORIGIN}/`],
      },
      {
        clientId: "custom-origins",
        redirectUris: ["http://localhost:6000/redirect.html"],
        allowedOrigins: ["http://app.localhost:3000"],
      },
    ],
  });
  as = await discover(server);
});

afterAll(() => server.close());

/** Opens a fresh authorization request up to the dev login page. */
async function openLoginPage(cookies = new CookieJar()) {
  const request = await authorizationRequest(as, { scope: "app:websocket openid" });
  const page = await open(request.url, cookies);
  return { request, page, cookies };
}

function formFields(html: string): { action: string; csrf: string } {
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!action || !csrf) throw new Error("no login form on the page");
  return { action, csrf };
}

describe("the dev login page", () => {
  it("is a small accessible form bound to its interaction", async () => {
    const { page } = await openLoginPage();
    expect(page.status).toBe(200);
    expect(page.url.pathname).toMatch(/^\/interaction\/[\w-]+$/);
    const html = page.html!;
    expect(html).toContain('<html lang="en">');
    expect(html).toContain('<label for="username">User name</label>');
    expect(html).toMatch(/<input id="username" name="username" type="text" required autofocus/);
    expect(html).toContain('<button type="submit" name="action" value="login">Sign in</button>');
    expect(html).not.toMatch(/type="password"/);
    const { action, csrf } = formFields(html);
    expect(action).toBe(page.url.pathname);
    expect(csrf.length).toBeGreaterThan(20);
    expect(html).toContain("<code>lenra-dev</code>");
  });

  it("sends security headers with the page", async () => {
    const { page } = await openLoginPage();
    const response = await fetch(page.url, { redirect: "manual" });
    // Without the interaction cookie the page refuses, but with the same headers.
    expect(response.headers.get("Content-Security-Policy")).toMatch(/default-src 'none'/);
    expect(response.headers.get("Content-Security-Policy")).toMatch(/frame-ancestors 'none'/);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("Sign-in expired");
  });

  it("escapes a malicious user name and refuses it", async () => {
    const { page, cookies } = await openLoginPage();
    const { csrf } = formFields(page.html!);
    const evil = `"><script>alert(1)</script><img src=x onerror=alert(2)>`;
    const response = await postForm(page.url, cookies, { csrf, username: evil, action: "login" });
    expect(response.status).toBe(400);
    const html = await response.text();
    expect(html).not.toContain("<script>alert(1)</script>");
    expect(html).not.toContain("<img src=x");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).toContain('role="alert"');
    expect(html).toContain("is not a valid user name");
    expect(html).toContain('aria-invalid="true"');
    // The form is still there to try again.
    expect(formFields(html).csrf).toBe(csrf);
  });

  it.each([
    ["empty", ""],
    ["too long", "a".repeat(65)],
    ["spaces", "john doe"],
    ["the @me placeholder", "@me"],
    ["non-ASCII", "zoë"],
    ["a slash", "a/b"],
  ])("refuses a user name that is %s", async (_, username) => {
    const request = await authorizationRequest(as);
    await expect(completeDevLogin({ authorizationUrl: request.url, username })).rejects.toThrow(
      DevLoginError,
    );
    await expect(completeDevLogin({ authorizationUrl: request.url, username })).rejects.toThrow(
      /user name/,
    );
  });

  it.each(["a", "alice", "Bob_42", "jane.doe@example.com", "x-y", "z".repeat(64)])(
    "accepts %s and makes it the user id",
    async (username) => {
      const { tokens } = await login(as, { username });
      expect(await server.verifyAccessToken(tokens.access_token)).toMatchObject({
        userId: username,
      });
    },
  );

  it("trims surrounding spaces", async () => {
    const { tokens } = await login(as, { username: "  frank " });
    expect(await server.verifyAccessToken(tokens.access_token)).toMatchObject({
      userId: "frank",
    });
  });

  it("refuses a form without the page's csrf value", async () => {
    const { page, cookies } = await openLoginPage();
    const response = await postForm(page.url, cookies, {
      csrf: "forged",
      username: "mallory",
      action: "login",
    });
    expect(response.status).toBe(403);
    expect(response.headers.get("Location")).toBeNull();
  });

  it("refuses a form posted without the interaction cookie (cross-site)", async () => {
    const { page } = await openLoginPage();
    const { csrf } = formFields(page.html!);
    const response = await postForm(page.url, new CookieJar(), {
      csrf,
      username: "mallory",
      action: "login",
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("Location")).toBeNull();
  });

  it("refuses a form posted to another interaction's URL", async () => {
    const first = await openLoginPage();
    const second = await openLoginPage(first.cookies);
    // The jar now holds the second interaction's cookie only for its own path.
    const response = await postForm(second.page.url, second.cookies, {
      csrf: formFields(first.page.html!).csrf,
      username: "mallory",
      action: "login",
    });
    expect(response.status).toBe(403);
  });

  it("cancels back to the client with access_denied and the state", async () => {
    const { page, cookies, request } = await openLoginPage();
    const { csrf } = formFields(page.html!);
    const posted = await postForm(page.url, cookies, { csrf, action: "cancel" });
    expect(posted.status).toBe(303);
    const result = await open(new URL(posted.headers.get("Location")!, page.url), cookies);
    expect(result.location?.origin).toBe(DEV_ORIGIN);
    expect(result.location?.searchParams.get("error")).toBe("access_denied");
    expect(result.location?.searchParams.get("state")).toBe(request.state);
    expect(result.location?.searchParams.has("iss")).toBe(false);
  });
});

describe("logout", () => {
  it("ends the session: the next authorization shows the login form again", async () => {
    const cookies = new CookieJar();
    const { tokens } = await login(as, {
      username: "gina",
      scope: "app:websocket openid",
      cookies,
    });

    // Logged in: a new authorization goes straight back to the app.
    const sso = await open((await authorizationRequest(as)).url, cookies);
    expect(sso.location?.searchParams.get("code")).toEqual(expect.any(String));

    const logoutUrl = new URL(as.end_session_endpoint!);
    logoutUrl.searchParams.set("id_token_hint", tokens.id_token!);
    logoutUrl.searchParams.set("post_logout_redirect_uri", `${DEV_ORIGIN}/`);
    logoutUrl.searchParams.set("state", "bye");
    const after = new URL(await devLogout({ logoutUrl, cookies }));
    expect(after.origin + after.pathname).toBe(`${DEV_ORIGIN}/`);
    expect(after.searchParams.get("state")).toBe("bye");

    const again = await open((await authorizationRequest(as)).url, cookies);
    expect(again.location).toBeUndefined();
    expect(again.status).toBe(200);
    expect(again.html).toContain('<label for="username">');

    // As on Hydra, logout ends the login session, not the tokens: a client revokes those.
    expect(await server.verifyAccessToken(tokens.access_token)).toMatchObject({ userId: "gina" });
  });

  it("confirms by itself, with a button for browsers without JavaScript", async () => {
    const cookies = new CookieJar();
    await login(as, { username: "hugo", cookies });
    const page = await open(new URL(as.end_session_endpoint!), cookies);
    expect(page.status).toBe(200);
    expect(page.html).toMatch(/<button type="submit" form="[^"]+" name="logout" value="yes"/);
    expect(page.html).toMatch(/<script nonce="[^"]+">/);
  });

  it("without post_logout_redirect_uri, lands on the server's signed-out page", async () => {
    const cookies = new CookieJar();
    await login(as, { username: "ivy", cookies });
    const after = new URL(await devLogout({ logoutUrl: as.end_session_endpoint!, cookies }));
    expect(after.origin).toBe(server.issuer);
    const page = await open(after, cookies);
    expect(page.html).toContain("Signed out");
  });

  it("refuses post_logout_redirect_uri or state without id_token_hint, as Hydra", async () => {
    for (const params of [{ post_logout_redirect_uri: `${DEV_ORIGIN}/` }, { state: "x" }]) {
      const url = new URL(as.end_session_endpoint!);
      for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
      const response = await fetch(url, { redirect: "manual" });
      expect(response.status).toBe(400);
      expect(response.headers.get("Location")).toBeNull();
      expect(await response.text()).toContain("id_token_hint is missing");
    }
  });

  it("never redirects to an unregistered post_logout_redirect_uri", async () => {
    const cookies = new CookieJar();
    const { tokens } = await login(as, {
      username: "jack",
      scope: "app:websocket openid",
      cookies,
    });
    const url = new URL(as.end_session_endpoint!);
    url.searchParams.set("id_token_hint", tokens.id_token!);
    url.searchParams.set("post_logout_redirect_uri", "https://evil.example/");
    const response = await fetch(url, { redirect: "manual" });
    expect(response.status).toBe(400);
    expect(response.headers.get("Location")).toBeNull();
  });

  it("redirects even when the session is already gone", async () => {
    const { tokens } = await login(as, { username: "kim", scope: "app:websocket openid" });
    const logoutUrl = new URL(as.end_session_endpoint!);
    logoutUrl.searchParams.set("id_token_hint", tokens.id_token!);
    logoutUrl.searchParams.set("post_logout_redirect_uri", `${DEV_ORIGIN}/`);
    const after = await devLogout({ logoutUrl, cookies: new CookieJar() });
    expect(after).toBe(`${DEV_ORIGIN}/`);
  });
});

describe("CORS", () => {
  const preflight = (url: string, origin: string) =>
    fetch(url, {
      method: "OPTIONS",
      headers: {
        Origin: origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
      },
    });

  it("answers the token endpoint's preflight for an allowed origin only", async () => {
    const allowed = await preflight(as.token_endpoint!, DEV_ORIGIN);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("Access-Control-Allow-Origin")).toBe(DEV_ORIGIN);
    expect(allowed.headers.get("Access-Control-Allow-Methods")).toContain("POST");
    expect(allowed.headers.get("Access-Control-Allow-Headers")?.toLowerCase()).toContain(
      "content-type",
    );

    const other = await preflight(as.token_endpoint!, "http://localhost:9999");
    expect(other.headers.get("Access-Control-Allow-Origin")).toBeNull();
    expect(other.headers.get("Access-Control-Allow-Methods")).toBeNull();
  });

  it("adds CORS headers to token responses for the client's origins and none for another", async () => {
    const body = new URLSearchParams({
      grant_type: "refresh_token",
      client_id: "lenra-dev",
      refresh_token: "unknown",
    });
    const headers = (origin: string) => ({
      Origin: origin,
      "Content-Type": "application/x-www-form-urlencoded",
    });

    const allowed = await fetch(as.token_endpoint!, {
      method: "POST",
      headers: headers(DEV_ORIGIN),
      body,
    });
    expect(allowed.headers.get("Access-Control-Allow-Origin")).toBe(DEV_ORIGIN);
    expect(await allowed.json()).toMatchObject({ error: "invalid_grant" });

    const other = await fetch(as.token_endpoint!, {
      method: "POST",
      headers: headers("http://localhost:9999"),
      body,
    });
    expect(other.headers.get("Access-Control-Allow-Origin")).toBeNull();
    expect(other.status).toBe(400);

    // Another client's origin is not this client's.
    const crossClient = await fetch(as.token_endpoint!, {
      method: "POST",
      headers: headers("http://app.localhost:3000"),
      body,
    });
    expect(crossClient.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("serves a browser's token exchange from the redirect page's origin", async () => {
    const request = await authorizationRequest(as);
    const callback = new URL(
      await completeDevLogin({ authorizationUrl: request.url, username: "lena" }),
    );
    const response = await fetch(as.token_endpoint!, {
      method: "POST",
      headers: { Origin: DEV_ORIGIN, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        client_id: "lenra-dev",
        code: callback.searchParams.get("code")!,
        redirect_uri: DEV_REDIRECT_URI,
        code_verifier: request.verifier,
      }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe(DEV_ORIGIN);
  });

  it("covers the revocation endpoint the same way", async () => {
    const allowed = await preflight(as.revocation_endpoint!, DEV_ORIGIN);
    expect(allowed.headers.get("Access-Control-Allow-Origin")).toBe(DEV_ORIGIN);
    const other = await preflight(as.revocation_endpoint!, "http://localhost:9999");
    expect(other.headers.get("Access-Control-Allow-Origin")).toBeNull();

    const revoked = await fetch(as.revocation_endpoint!, {
      method: "POST",
      headers: { Origin: DEV_ORIGIN, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: "unknown", client_id: "lenra-dev" }),
    });
    expect(revoked.status).toBe(200);
    expect(revoked.headers.get("Access-Control-Allow-Origin")).toBe(DEV_ORIGIN);
  });

  it("uses a client's explicit allowedOrigins instead of its redirect origins", async () => {
    const allowed = await preflight(as.token_endpoint!, "http://app.localhost:3000");
    expect(allowed.headers.get("Access-Control-Allow-Origin")).toBe("http://app.localhost:3000");
    expect(server.clients.find((c) => c.clientId === "custom-origins")?.allowedOrigins).toEqual([
      "http://app.localhost:3000",
    ]);
    const notDerived = await preflight(as.token_endpoint!, "http://localhost:6000");
    expect(notDerived.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("lets any page read discovery", async () => {
    const response = await fetch(`${server.issuer}/.well-known/openid-configuration`, {
      headers: { Origin: "http://localhost:9999" },
    });
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe("http://localhost:9999");
  });
});

describe("configuration", () => {
  let started: AuthServer | undefined;
  afterEach(async () => {
    await started?.close();
    started = undefined;
  });

  it("has a default dev client for the example ports", async () => {
    started = await startAuthServer({ port: 0, devClientPorts: [3000] });
    expect(started.clients).toEqual([
      {
        clientId: DEFAULT_DEV_CLIENT_ID,
        redirectUris: [
          "http://localhost:3000/redirect.html",
          "http://127.0.0.1:3000/redirect.html",
        ],
        postLogoutRedirectUris: ["http://localhost:3000/", "http://127.0.0.1:3000/"],
        allowedOrigins: ["http://localhost:3000", "http://127.0.0.1:3000"],
        refreshTokens: true,
      },
    ]);
    const defaults = await startAuthServer({ port: 0 });
    try {
      expect(defaults.clients[0]?.redirectUris).toContain("http://localhost:5173/redirect.html");
      expect(defaults.clients[0]?.redirectUris).toContain("http://127.0.0.1:5173/redirect.html");
    } finally {
      await defaults.close();
    }
  });

  it("takes an explicit issuer", async () => {
    started = await startAuthServer({
      port: 0,
      host: "127.0.0.1",
      issuer: "http://localhost:4444/",
    });
    expect(started.issuer).toBe("http://localhost:4444");
    expect(started.endpoints.token).toBe("http://localhost:4444/oauth2/token");
  });

  it.each([
    [{ host: "0.0.0.0" }, /host/],
    [{ host: "192.168.1.2" }, /host/],
    [{ port: -1 }, /port/],
    [{ port: 1.5 }, /port/],
    [{ issuer: "http://example.com" }, /issuer/],
    [{ issuer: "http://localhost:4444/auth" }, /issuer/],
    [{ accessTokenTtl: 0 }, /accessTokenTtl/],
    [{ clients: [] }, /clients/],
    [{ clients: [{ clientId: "a", redirectUris: ["not a url"] }] }, /redirectUris\[0\]/],
    [{ clients: [{ clientId: "a", redirectUris: ["http://x.localhost/#f"] }] }, /fragment/],
    [
      {
        clients: [
          {
            clientId: "a",
            redirectUris: ["http://localhost/"],
            allowedOrigins: ["http://localhost/path"],
          },
        ],
      },
      /allowedOrigins\[0\]/,
    ],
    [
      {
        clients: [
          { clientId: "a", redirectUris: ["http://localhost/"] },
          { clientId: "a", redirectUris: ["http://localhost/"] },
        ],
      },
      /twice/,
    ],
    [{ devClientPorts: [70000] }, /devClientPorts/],
  ])("refuses %o with a TypeError", async (options, message) => {
    await expect(startAuthServer({ port: 0, ...options })).rejects.toThrow(TypeError);
    await expect(startAuthServer({ port: 0, ...options })).rejects.toThrow(message);
  });

  it("generates new keys per start unless given", async () => {
    started = await startAuthServer({ port: 0 });
    const other = await startAuthServer({ port: 0 });
    try {
      const kid = async (s: AuthServer) =>
        ((await (await fetch(s.endpoints.jwks)).json()) as { keys: { kid: string }[] }).keys[0]
          ?.kid;
      expect(await kid(started)).not.toBe(await kid(other));
    } finally {
      await other.close();
    }
  });

  it("writes nothing to the console and logs no token", async () => {
    const spies = (["log", "info", "warn", "error", "debug"] as const).map((method) =>
      vi.spyOn(console, method).mockImplementation(() => {}),
    );
    const messages: string[] = [];
    const record = (message: string, details?: Record<string, unknown>) => {
      messages.push(`${message} ${JSON.stringify(details ?? {})}`);
    };
    try {
      started = await startAuthServer({
        port: 0,
        logger: { debug: record, info: record, warn: record, error: record },
      });
      const { tokens, client } = await login(await discover(started), {
        scope: "app:websocket openid offline_access",
      });
      const refused = await fetch(started.endpoints.token, {
        method: "POST",
        body: new URLSearchParams({
          grant_type: "refresh_token",
          client_id: client.client_id,
          refresh_token: `${tokens.refresh_token}x`,
        }),
      });
      expect(refused.status).toBe(400);
      await started.close();
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
      expect(messages.length).toBeGreaterThan(0);
      const logged = messages.join("\n");
      for (const secret of [tokens.access_token, tokens.refresh_token!, tokens.id_token!]) {
        expect(logged).not.toContain(secret);
      }
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });

  it("stops listening on close", async () => {
    started = await startAuthServer({ port: 0 });
    const url = started.endpoints.discovery;
    expect((await fetch(url)).status).toBe(200);
    await started.close();
    await started.close();
    await expect(fetch(url)).rejects.toThrow();
  });
});
