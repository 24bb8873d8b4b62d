/**
 * Switching user on the dev login page: the `prompt` values an app may send (`login`,
 * `select_account`, `none`) and `login_hint`, through real authorization requests and the
 * pages a browser would get.
 */
import type * as oauth from "oauth4webapi";
import { CookieJar } from "tough-cookie";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuthServer, startAuthServer } from "../src/auth/auth-server.ts";
import { completeDevLogin } from "../src/testing/dev-login.ts";
import {
  authorizationRequest,
  DEV_REDIRECT_URI,
  discover,
  login,
  open,
  postForm,
  redeem,
} from "./fixtures/auth/oauth.ts";

let server: AuthServer;
let as: oauth.AuthorizationServer;

beforeAll(async () => {
  server = await startAuthServer({ port: 0 });
  as = await discover(server);
});

afterAll(() => server.close());

/** A browser where `username` signed in (its cookie jar holds the login session). */
async function signedIn(username: string): Promise<CookieJar> {
  const cookies = new CookieJar();
  await login(as, { username, cookies });
  return cookies;
}

/** Logs in with `params` added to the authorization request; resolves with the token's user. */
async function userOf(
  cookies: CookieJar,
  username: string,
  params: Record<string, string>,
  scope = "app:websocket",
): Promise<string | undefined> {
  const request = await authorizationRequest(as, { params, scope });
  const callback = await completeDevLogin({ authorizationUrl: request.url, username, cookies });
  const tokens = await redeem(as, request, new URL(callback));
  return (await server.verifyAccessToken(tokens.access_token))?.userId;
}

function submitButtons(html: string): string[] {
  return [...html.matchAll(/<button type="submit" name="action" value="(\w+)"[^>]*>([^<]*)</g)].map(
    ([, value, label]) => `${value}: ${label}`,
  );
}

describe("prompt=select_account", () => {
  it("offers to continue as the signed-in user or to use another name", async () => {
    const cookies = await signedIn("erin");
    const request = await authorizationRequest(as, { params: { prompt: "select_account" } });
    const page = await open(request.url, cookies);
    expect(page.status).toBe(200);
    expect(page.url.pathname).toMatch(/^\/interaction\//);
    expect(submitButtons(page.html!)).toEqual([
      "continue: Continue as erin",
      "another: Use another name",
      "cancel: Cancel",
    ]);
    expect(page.html).not.toContain('name="username"');
  });

  it("continues as the signed-in user", async () => {
    const cookies = await signedIn("erin");
    expect(await userOf(cookies, "erin", { prompt: "select_account" })).toBe("erin");
  });

  it("signs in another user after 'Use another name', who then stays signed in", async () => {
    const cookies = await signedIn("erin");
    expect(await userOf(cookies, "frank", { prompt: "select_account" })).toBe("frank");
    // Single sign-on now goes on as frank, with no page ("" would fail the form).
    expect(await userOf(cookies, "", {})).toBe("frank");
  });

  it("shows the form when nobody is signed in, and issues a refresh token with offline_access", async () => {
    const request = await authorizationRequest(as, {
      params: { prompt: "select_account" },
      scope: "app:websocket offline_access",
    });
    const cookies = new CookieJar();
    const page = await open(request.url, cookies);
    expect(page.html).toContain('<label for="username">');
    const callback = await completeDevLogin({ authorizationUrl: request.url, username: "gus" });
    const tokens = await redeem(as, request, new URL(callback));
    expect(tokens.refresh_token).toEqual(expect.any(String));
  });

  it("cancels back to the app with access_denied", async () => {
    const cookies = await signedIn("erin");
    const request = await authorizationRequest(as, { params: { prompt: "select_account" } });
    const page = await open(request.url, cookies);
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.html!)?.[1] as string;
    const response = await postForm(page.url, cookies, { csrf, action: "cancel" });
    const back = await open(new URL(response.headers.get("Location")!, page.url), cookies);
    expect(back.location?.searchParams.get("error")).toBe("access_denied");
    expect(back.location?.searchParams.get("state")).toBe(request.state);
  });

  it("never continues without the page's csrf value", async () => {
    const cookies = await signedIn("erin");
    const request = await authorizationRequest(as, { params: { prompt: "select_account" } });
    const page = await open(request.url, cookies);
    const response = await postForm(page.url, cookies, { csrf: "forged", action: "continue" });
    expect(response.status).toBe(403);
  });
});

describe("prompt=login", () => {
  it("shows the form even with a session, and signs in whoever is typed", async () => {
    const cookies = await signedIn("erin");
    const request = await authorizationRequest(as, { params: { prompt: "login" } });
    const page = await open(request.url, cookies);
    expect(page.html).toContain('<label for="username">');
    expect(page.html).not.toContain("Continue as");
    expect(await userOf(cookies, "hal", { prompt: "login" })).toBe("hal");
    expect(await userOf(cookies, "hal", { prompt: "login" })).toBe("hal");
  });
});

describe("prompt=none", () => {
  it("answers login_required to the app, with no page, when nobody is signed in", async () => {
    const request = await authorizationRequest(as, { params: { prompt: "none" } });
    const answer = await open(request.url);
    expect(answer.html).toBeUndefined();
    expect(answer.location?.origin + answer.location!.pathname).toBe(DEV_REDIRECT_URI);
    expect(answer.location?.searchParams.get("error")).toBe("login_required");
    expect(answer.location?.searchParams.get("state")).toBe(request.state);
  });

  it("signs the signed-in user in with no page", async () => {
    const cookies = await signedIn("ivy");
    const request = await authorizationRequest(as, { params: { prompt: "none" } });
    const answer = await open(request.url, cookies);
    expect(answer.location?.searchParams.get("code")).toEqual(expect.any(String));
    expect(await userOf(cookies, "", { prompt: "none" })).toBe("ivy");
  });
});

describe("login_hint", () => {
  it("fills the user name in", async () => {
    const request = await authorizationRequest(as, { params: { login_hint: "jo@example.com" } });
    const page = await open(request.url);
    expect(page.html).toMatch(/<input id="username"[^>]* value="jo@example\.com">/);
  });

  it("fills it in on the form behind 'Use another name' and after prompt=login", async () => {
    const cookies = await signedIn("erin");
    const chooser = await authorizationRequest(as, {
      params: { prompt: "select_account", login_hint: "kai" },
    });
    const page = await open(chooser.url, cookies);
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.html!)?.[1] as string;
    const form = await postForm(page.url, cookies, { csrf, action: "another" });
    expect(form.status).toBe(200);
    expect(await form.text()).toMatch(/<input id="username"[^>]* value="kai">/);

    const relogin = await authorizationRequest(as, {
      params: { prompt: "login", login_hint: "kai" },
    });
    expect((await open(relogin.url, cookies)).html).toMatch(/value="kai">/);
  });

  it("leaves the field empty for a hint that is not a valid user name, escaped nowhere", async () => {
    const request = await authorizationRequest(as, {
      params: { login_hint: '"><script>alert(1)</script>' },
    });
    const page = await open(request.url);
    expect(page.html).toMatch(/<input id="username"[^>]* value="">/);
    expect(page.html).not.toContain("<script>alert");
  });
});
