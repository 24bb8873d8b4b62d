import { describe, expect, it } from "vitest";
import {
  createLenraClient,
  LenraAuthError,
  LenraErrorCode,
  type LenraLogin,
} from "../src/index.ts";
import { lenraLogin } from "../src/login.ts";

describe("createLenraClient options", () => {
  it.each([
    ["clientId", { clientId: "my-app" }],
    ["oauth", { oauth: { baseUri: "https://auth.example" } }],
  ])("says where `%s` went: into lenraLogin from @lenra/client/login", async (_name, options) => {
    // TypeScript refuses it outright; in JavaScript the client has no login, and says how to add one.
    // @ts-expect-error `clientId` and `oauth` are options of lenraLogin(), not of the client.
    const client = createLenraClient(options);
    const error = await client.auth.login().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LenraAuthError);
    expect(error).toMatchObject({ code: LenraErrorCode.LoginNotConfigured });
    expect((error as Error).message).toContain(
      'login: lenraLogin({ clientId, ... })`, imported from "@lenra/client/login"',
    );
    await client.dispose();
  });

  it("takes either a login or your own tokens, not both", () => {
    expect(() =>
      createLenraClient({
        login: lenraLogin({ clientId: "my-app" }),
        getAccessToken: () => "token",
      }),
    ).toThrow("either `login` (built-in login) or `getAccessToken`");
  });

  it.each([
    "ws://lenra.example/socket",
    "ws://192.168.1.20:4001/socket",
    "ws://localhost.example.com/socket",
    "ws://127.0.0.1.example.com/socket",
  ])("refuses the clear-text socket endpoint %s off this machine", (socketEndpoint) => {
    const create = () => createLenraClient({ socketEndpoint });
    expect(create).toThrow(TypeError);
    expect(create).toThrow(
      "`socketEndpoint` must be wss://, /-relative, or ws:// on this machine (elsewhere in clear with `allowInsecureRequests: true`)",
    );
    // An explicit opt-in allows it, for a development server on a local network.
    expect(() => createLenraClient({ socketEndpoint, allowInsecureRequests: true })).not.toThrow();
  });

  it.each([
    "ws://localhost:4001/socket",
    "ws://localhost/socket",
    "ws://127.0.0.1:4001/socket",
    "ws://127.3.2.1:4001/socket",
    "ws://[::1]:4001/socket",
    "wss://lenra.example/socket",
    "/socket",
  ])("accepts the socket endpoint %s", (socketEndpoint) => {
    expect(() => createLenraClient({ socketEndpoint })).not.toThrow();
  });

  it("refuses http:// OAuth endpoints off this machine, even with allowInsecureRequests", () => {
    for (const allowInsecureRequests of [undefined, true]) {
      expect(() =>
        lenraLogin({ clientId: "a", baseUri: "http://auth.example", allowInsecureRequests }),
      ).toThrow(/`baseUri` must use https:\/\//);
    }
  });

  it("takes as login only what lenraLogin returns", () => {
    expect(() => createLenraClient({ login: lenraLogin as unknown as LenraLogin })).toThrow(
      "`login` must be what `lenraLogin({ clientId, ... })` returns",
    );
    expect(() => createLenraClient({ login: { clientId: "x" } as unknown as LenraLogin })).toThrow(
      TypeError,
    );
  });
});

describe("lenraLogin options", () => {
  it.each([
    [undefined, /options must be an object with at least a `clientId`/],
    [{}, /lenraLogin: `clientId` must be a non-empty string, got undefined/],
    [{ clientId: " " }, /`clientId` must be a non-empty string/],
    [{ clientId: "a", baseUri: "http://auth.example" }, /`baseUri` must use https:\/\//],
    [
      { clientId: "a", baseUri: "http://localhost:4444", allowInsecureRequests: false },
      /`baseUri` is an http:\/\/ URL: set `allowInsecureRequests: true`/,
    ],
    [
      { clientId: "a", issuer: "https://a.example", baseUri: "https://b.example" },
      /either `issuer` or `baseUri`/,
    ],
    [{ clientId: "a", scopes: [] }, /`scopes` must be a non-empty array/],
    [{ clientId: "a", scopeDelimiter: "" }, /`scopeDelimiter` must be a non-empty string/],
    [
      { clientId: "a", extraAuthParams: { state: "x" } },
      /`extraAuthParams.state` is set by the client/,
    ],
    [{ clientId: "a", loginMode: "tab" }, /`loginMode` must be "redirect" or "popup"/],
    [{ clientId: "a", storage: "cookie" }, /`storage` must be "memory", "session", "local"/],
    [{ clientId: "a", afterLogout: "stay" }, /`afterLogout` must be "guest" or "disconnect"/],
    [{ clientId: "a", popupTimeoutMs: 0 }, /`popupTimeoutMs` must be a positive number/],
    [{ clientId: "a", fetch: "fetch" }, /`fetch` must be a function/],
    [
      { clientId: "a", handleRedirectCallback: "yes" },
      /`handleRedirectCallback` must be a boolean/,
    ],
  ])("refuses %j with a TypeError naming the option", (options, message) => {
    expect(() => lenraLogin(options as never)).toThrow(TypeError);
    expect(() => lenraLogin(options as never)).toThrow(message);
  });

  it("accepts every option of the login", () => {
    const login = lenraLogin({
      clientId: "my-app",
      baseUri: "https://auth.example",
      authorizationEndpoint: "https://auth.example/authorize",
      tokenEndpoint: "https://auth.example/token",
      revocationEndpoint: "https://auth.example/revoke",
      endSessionEndpoint: "https://auth.example/logout",
      redirectUri: "https://app.example/callback",
      scopes: ["openid", "app:websocket", "offline_access"],
      scopeDelimiter: "+",
      extraAuthParams: { prompt: "login" },
      loginMode: "popup",
      popupFallbackToRedirect: true,
      popupTimeoutMs: 60_000,
      storage: "local",
      allowInsecureRequests: false,
      handleRedirectCallback: false,
      afterLogout: "disconnect",
      postLogoutRedirectUri: "https://app.example/",
      fetch: globalThis.fetch,
    });
    expect(typeof login.createAuth).toBe("function");
    const client = createLenraClient({ login });
    expect(client.auth.getSnapshot().status).toBe("loading");
    void client.dispose();
  });
});

describe("a client without a login", () => {
  it("is a guest, and its login() says that no login was configured and how to add one", async () => {
    const client = createLenraClient();
    expect(client.auth.getSnapshot()).toEqual({
      status: "guest",
      user: undefined,
      error: undefined,
    });
    for (const attempt of [() => client.auth.login(), () => client.auth.handleRedirectCallback()]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LenraAuthError);
      expect(error).toMatchObject({ code: LenraErrorCode.LoginNotConfigured });
      expect((error as Error).message).toContain(
        'login: lenraLogin({ clientId, ... })`, imported from "@lenra/client/login"',
      );
    }
    expect(client.auth.isRedirectCallback("https://app.example/redirect.html?code=a&state=b")).toBe(
      false,
    );
    await expect(client.auth.getAccessToken()).resolves.toBeUndefined();
    await expect(client.auth.logout()).resolves.toBeUndefined();
    expect(client.auth.getSnapshot().status).toBe("guest");
    await client.dispose();
  });
});
