import { createHash } from "node:crypto";
import { completeDevLogin } from "@lenra/devserver/testing";
import { afterEach, describe, expect, it } from "vitest";
import { LenraAuthError, LenraErrorCode } from "../src/index.ts";
import {
  type AuthHarness,
  CLIENT_ID,
  memoryStorage,
  REDIRECT_URI,
  startAuthHarness,
} from "./support/auth.ts";
import { polled, sleep, waitFor } from "./support/server.ts";

let harness: AuthHarness;

afterEach(async () => {
  await harness?.close();
});

const OFFLINE = { scopes: ["app:websocket", "offline_access"] };

/** Revokes a token at the authorization server directly (RFC 7009), as another party could. */
async function revokeBehindTheClientsBack(token: string | undefined): Promise<void> {
  const revoked = await fetch(harness.auth.endpoints.revocation, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: token ?? "", client_id: CLIENT_ID }),
  });
  expect(revoked.status).toBe(200);
}

/** What the client stored of its session: the refresh token, never an access token. */
function storedSession(storage: ReturnType<typeof memoryStorage>) {
  const raw = storage.items.get(`lenra:auth:${CLIENT_ID}:${harness.auth.url}`);
  return raw ? (JSON.parse(raw) as { id: string; refreshToken: string }) : undefined;
}

/** Uses a refresh token directly against the token endpoint, as an attacker replaying it would. */
async function tryRefresh(refreshToken: string) {
  const response = await fetch(`${harness.auth.url}/oauth2/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: refreshToken,
      client_id: CLIENT_ID,
    }),
  });
  return { status: response.status, body: (await response.json()) as { error?: string } };
}

describe("login against the real OAuth server", () => {
  it("logs in with PKCE in Node and connects the socket as that user", async () => {
    harness = await startAuthHarness();
    const client = harness.client();
    expect(client.auth.getSnapshot().status).toBe("loading");
    await harness.login(client, "alice");
    expect(client.auth.getSnapshot()).toMatchObject({ status: "authenticated", error: undefined });
    const token = await client.auth.getAccessToken();
    expect(token).toBeTypeOf("string");
    expect(await harness.auth.verifyAccessToken(token ?? "")).toMatchObject({ userId: "alice" });

    const me = client.view<{ me: string; value: number }>("/me");
    me.subscribe(() => {});
    const state = await waitFor(me, (s) => s.status === "success");
    expect(state.data).toMatchObject({ me: "alice", value: 0 });
    expect(harness.socketTokens.at(-1)).toBe(token);
  });

  it("sends an S256 challenge of the verifier it later redeems", async () => {
    harness = await startAuthHarness();
    const client = harness.client();
    let authorizationUrl = "";
    await client.auth.login({
      openUrl: (url) => {
        authorizationUrl = url;
      },
    });
    const params = new URL(authorizationUrl).searchParams;
    expect(params.get("code_challenge_method")).toBe("S256");
    expect(params.get("client_id")).toBe(CLIENT_ID);
    expect(params.get("redirect_uri")).toBe(REDIRECT_URI);
    expect(params.get("scope")).toBe("app:websocket");
    const callbackUrl = await completeDevLogin({ authorizationUrl, username: "alice" });
    await client.auth.handleRedirectCallback(callbackUrl);
    const verifier = harness.tokenRequests[0]?.body.get("code_verifier") ?? "";
    expect(verifier.length).toBeGreaterThanOrEqual(43);
    expect(createHash("sha256").update(verifier).digest("base64url")).toBe(
      params.get("code_challenge"),
    );
  });

  it("uses a fresh state of at least 128 bits for every attempt", async () => {
    harness = await startAuthHarness();
    const client = harness.client();
    const states = new Set<string>();
    const verifierChallenges = new Set<string>();
    for (let i = 0; i < 20; i++) {
      await client.auth.login({
        openUrl: (url) => {
          const params = new URL(url).searchParams;
          states.add(params.get("state") ?? "");
          verifierChallenges.add(params.get("code_challenge") ?? "");
        },
      });
    }
    expect(states.size).toBe(20);
    expect(verifierChallenges.size).toBe(20);
    for (const state of states) {
      expect(state).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(Buffer.from(state, "base64url").length * 8).toBeGreaterThanOrEqual(128);
    }
  });

  it("refuses a callback whose state is wrong or missing, without a token request", async () => {
    harness = await startAuthHarness();
    const client = harness.client();
    let authorizationUrl = "";
    await client.auth.login({
      openUrl: (url) => {
        authorizationUrl = url;
      },
    });
    const callbackUrl = new URL(await completeDevLogin({ authorizationUrl, username: "alice" }));
    const wrongState = new URL(callbackUrl);
    wrongState.searchParams.set("state", "forged-state-value-0123456789abcdef");
    const noState = new URL(callbackUrl);
    noState.searchParams.delete("state");
    for (const url of [wrongState, noState]) {
      const error = await client.auth.handleRedirectCallback(url.href).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LenraAuthError);
      expect(error).toMatchObject({ code: LenraErrorCode.AuthCallbackInvalid });
      expect(String((error as Error).message)).not.toContain(
        callbackUrl.searchParams.get("code") ?? "code",
      );
    }
    expect(harness.tokenRequests).toHaveLength(0);
    expect(client.auth.getSnapshot().status).toBe("error");
  });

  it("refuses a callback at another path than the redirect URI", async () => {
    harness = await startAuthHarness();
    const client = harness.client();
    let authorizationUrl = "";
    await client.auth.login({
      openUrl: (url) => {
        authorizationUrl = url;
      },
    });
    const callbackUrl = new URL(await completeDevLogin({ authorizationUrl, username: "alice" }));
    const elsewhere = new URL(callbackUrl);
    elsewhere.pathname = "/somewhere-else";
    await expect(client.auth.handleRedirectCallback(elsewhere.href)).rejects.toMatchObject({
      code: LenraErrorCode.AuthCallbackInvalid,
    });
    expect(harness.tokenRequests).toHaveLength(0);
    // The attempt is still pending: the genuine callback works.
    await client.auth.handleRedirectCallback(callbackUrl.href);
    expect(client.auth.getSnapshot().status).toBe("authenticated");
  });

  it("redeems a callback once: the same URL twice shares one redemption, a replay is refused", async () => {
    harness = await startAuthHarness();
    const client = harness.client();
    let authorizationUrl = "";
    await client.auth.login({
      openUrl: (url) => {
        authorizationUrl = url;
      },
      appState: { page: "/todos" },
    });
    const callbackUrl = await completeDevLogin({ authorizationUrl, username: "alice" });
    const [first, second] = await Promise.all([
      client.auth.handleRedirectCallback(callbackUrl),
      client.auth.handleRedirectCallback(callbackUrl),
    ]);
    expect(first).toEqual({ appState: { page: "/todos" } });
    expect(second).toBe(first);
    expect(harness.tokenRequests).toHaveLength(1);
    // The same callback in a fresh page (another client) finds no pending login.
    const replayer = harness.client();
    await expect(replayer.auth.handleRedirectCallback(callbackUrl)).rejects.toMatchObject({
      code: LenraErrorCode.AuthCallbackInvalid,
    });
    expect(harness.tokenRequests).toHaveLength(1);
  });

  it("turns error= in the callback into a typed error", async () => {
    harness = await startAuthHarness();
    const client = harness.client();
    let state = "";
    await client.auth.login({
      openUrl: (url) => {
        state = new URL(url).searchParams.get("state") ?? "";
      },
    });
    const url = `${REDIRECT_URI}?error=access_denied&error_description=The+user+said+no&state=${state}`;
    const error = await client.auth.handleRedirectCallback(url).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: LenraErrorCode.AuthFailed, oauthError: "access_denied" });
    expect(client.auth.getSnapshot()).toMatchObject({ status: "error", error });
    expect(harness.tokenRequests).toHaveLength(0);
  });
});

describe("token lifecycle", () => {
  it("refreshes ahead of expiry with rotation; the old refresh token is refused afterwards", async () => {
    harness = await startAuthHarness({ accessTokenTtl: 4 });
    const storage = memoryStorage();
    const client = harness.client({ login: { ...OFFLINE, storage } });
    await harness.login(client, "alice");
    const before = storedSession(storage);
    const accessToken = await client.auth.getAccessToken();
    expect(before?.refreshToken).toBeTypeOf("string");
    // The access token stays in memory.
    expect([...storage.items.values()].join()).not.toContain(accessToken);
    // Refreshed a quarter of the lifetime before expiry (here 1 s ahead of 4 s).
    await waitFor(
      polled(() => storedSession(storage)),
      (stored) => stored?.refreshToken !== before?.refreshToken,
      { timeoutMs: 20_000, what: "a refreshed session" },
    );
    const after = storedSession(storage);
    expect(after?.refreshToken).toBeTypeOf("string");
    expect(after?.id).toBe(before?.id);
    expect(await client.auth.getAccessToken()).not.toBe(accessToken);
    expect(harness.tokenRequests.filter((r) => r.grantType === "refresh_token")).toHaveLength(1);
    const replay = await tryRefresh(before?.refreshToken ?? "");
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe("invalid_grant");
  });

  it("tries a refresh ahead of expiry again when the server could not be reached", async () => {
    harness = await startAuthHarness({ accessTokenTtl: 4 });
    const storage = memoryStorage();
    let failures = 0;
    // The first refresh fails as fetch does when the network is down; later ones go through.
    const flakyFetch: typeof fetch = async (input, init) => {
      const refreshing = new URLSearchParams(String(init?.body ?? "")).get("grant_type");
      if (refreshing === "refresh_token" && failures === 0) {
        failures += 1;
        throw new TypeError("fetch failed");
      }
      return harness.fetch(input, init);
    };
    const client = harness.client({ fetch: flakyFetch, login: { ...OFFLINE, storage } });
    await harness.login(client, "alice");
    const before = storedSession(storage);
    // No view and no call asks for a token: only the retry can refresh it.
    await waitFor(
      polled(() => storedSession(storage)),
      (stored) => stored !== undefined && stored.refreshToken !== before?.refreshToken,
      { timeoutMs: 20_000, what: "a session refreshed by the retry" },
    );
    expect(failures).toBe(1);
    expect(client.auth.getSnapshot()).toMatchObject({ status: "authenticated", error: undefined });
  });

  it("shares one refresh between five concurrent callers of an expired token", async () => {
    harness = await startAuthHarness({ accessTokenTtl: 2 });
    const client = harness.client({ login: OFFLINE });
    await harness.login(client, "alice");
    // Stop the client's own early refresh from racing the test: wait past expiry with no
    // subscriber, then ask five times at once.
    await sleep(2100);
    const refreshesBefore = harness.tokenRequests.filter(
      (r) => r.grantType === "refresh_token",
    ).length;
    const tokens = await Promise.all(Array.from({ length: 5 }, () => client.auth.getAccessToken()));
    expect(new Set(tokens).size).toBe(1);
    const refreshes =
      harness.tokenRequests.filter((r) => r.grantType === "refresh_token").length - refreshesBefore;
    expect(refreshes).toBeLessThanOrEqual(1);
    expect(await harness.auth.verifyAccessToken(tokens[0] ?? "")).toMatchObject({
      userId: "alice",
    });
  });

  it("ends the session cleanly at expiry without refresh tokens and reconnects as a guest", async () => {
    harness = await startAuthHarness({ accessTokenTtl: 2, refreshTokens: false });
    const client = harness.client();
    await harness.login(client, "alice");
    const me = client.view("/me");
    me.subscribe(() => {});
    await waitFor(me, (s) => s.status === "success");
    const guest = await waitFor(client.auth, (s) => s.status === "guest", { timeoutMs: 20_000 });
    expect(guest.error).toMatchObject({ code: LenraErrorCode.SessionExpired });
    // The socket reconnects without the dead token, and the user-only route is refused.
    await waitFor(me, (s) => s.status === "error", { timeoutMs: 20_000 });
    expect(harness.socketTokens.at(-1)).toBeUndefined();
    expect(await client.auth.getAccessToken()).toBeUndefined();
  });

  it("reconnects the socket with the refreshed token", async () => {
    harness = await startAuthHarness({ accessTokenTtl: 3 });
    const client = harness.client({ login: OFFLINE });
    await harness.login(client, "alice");
    const view = client.view("/me");
    view.subscribe(() => {});
    await waitFor(view, (s) => s.status === "success");
    const first = harness.socketTokens.at(-1);
    await sleep(3200);
    await harness.server.disconnectAll({ abrupt: true });
    await waitFor(view, (s) => s.isStale);
    await waitFor(view, (s) => s.status === "success" && !s.isStale, { timeoutMs: 20_000 });
    const latest = harness.socketTokens.at(-1);
    expect(latest).not.toBe(first);
    expect(await harness.auth.verifyAccessToken(latest ?? "")).toMatchObject({ userId: "alice" });
  });

  it("logs out: revokes, forgets the tokens even when revocation fails, and goes back to guest", async () => {
    harness = await startAuthHarness();
    const storage = memoryStorage();
    const client = harness.client({ login: { ...OFFLINE, storage } });
    await harness.login(client, "alice");
    const stored = storedSession(storage);
    const accessToken = await client.auth.getAccessToken();
    await client.auth.logout();
    expect(client.auth.getSnapshot()).toMatchObject({ status: "guest", error: undefined });
    expect(storage.items.size).toBe(0);
    expect(await harness.auth.verifyAccessToken(accessToken ?? "")).toBeUndefined();
    expect((await tryRefresh(stored?.refreshToken ?? "")).body.error).toBe("invalid_grant");

    // Revocation failing (server gone) still forgets everything.
    const other = harness.client({ login: { storage } });
    await harness.login(other, "bob");
    await harness.auth.close();
    await other.auth.logout();
    expect(other.auth.getSnapshot().status).toBe("guest");
    expect(storage.items.size).toBe(0);
  });

  it("turns an invalid_grant on refresh into one logout, with no retry loop", async () => {
    harness = await startAuthHarness({ accessTokenTtl: 2 });
    const storage = memoryStorage();
    const client = harness.client({ login: { ...OFFLINE, storage } });
    await harness.login(client, "alice");
    // Someone else uses the refresh token first: the grant is revoked on reuse.
    expect((await tryRefresh(storedSession(storage)?.refreshToken ?? "")).status).toBe(200);
    const states: string[] = [];
    client.auth.subscribe(() => states.push(client.auth.getSnapshot().status));
    await sleep(2100);
    expect(await client.auth.getAccessToken()).toBeUndefined();
    expect(client.auth.getSnapshot()).toMatchObject({
      status: "guest",
      error: { code: LenraErrorCode.SessionExpired },
    });
    const refreshes = harness.tokenRequests.filter((r) => r.grantType === "refresh_token").length;
    await sleep(1500);
    expect(await client.auth.getAccessToken()).toBeUndefined();
    expect(harness.tokenRequests.filter((r) => r.grantType === "refresh_token")).toHaveLength(
      refreshes,
    );
    expect(states.filter((s) => s === "guest")).toHaveLength(1);
  });
});

describe("socket identity", () => {
  it("upgrades live views from guest to user in place, and back on logout", async () => {
    harness = await startAuthHarness();
    harness.app.state.personal.alice = 7;
    const client = harness.client({ maxJoinAttempts: 1 });
    const counter = client.view<{ value: number }>("/counter");
    const me = client.view<{ me: string; value: number }>("/me");
    const seen: string[] = [];
    counter.subscribe(() => {});
    me.subscribe(() => seen.push(me.getSnapshot().status));
    await waitFor(counter, (s) => s.status === "success");
    await waitFor(me, (s) => s.status === "error");
    expect(client.auth.getSnapshot().status).toBe("guest");

    await harness.login(client, "alice");
    const mine = await waitFor(me, (s) => s.status === "success", { timeoutMs: 20_000 });
    expect(mine.data).toMatchObject({ me: "alice", value: 7 });
    expect(counter.getSnapshot().status).toBe("success");
    expect(harness.socketTokens.at(-1)).toBe(await client.auth.getAccessToken());

    await client.auth.logout();
    // The user's data leaves the screen at once, then the route is refused to the guest.
    expect(me.getSnapshot().data).toBeUndefined();
    await waitFor(me, (s) => s.status === "error", { timeoutMs: 20_000 });
    await waitFor(counter, (s) => s.status === "success" && !s.isStale, { timeoutMs: 20_000 });
    expect(harness.socketTokens.at(-1)).toBeUndefined();
  });

  it("goes on as a guest when the refused session's refresh token is refused too", async () => {
    // What a restarted server that forgot its grants looks like to a client.
    harness = await startAuthHarness();
    const storage = memoryStorage();
    const client = harness.client({ login: { ...OFFLINE, storage } });
    await harness.login(client, "alice");
    await revokeBehindTheClientsBack(storedSession(storage)?.refreshToken);
    await revokeBehindTheClientsBack(await client.auth.getAccessToken());
    const view = client.view<{ user: string | null }>("/counter");
    view.subscribe(() => {});
    await waitFor(client.auth, (s) => s.status !== "authenticated", { timeoutMs: 20_000 });
    expect(client.auth.getSnapshot()).toMatchObject({
      status: "guest",
      error: { code: LenraErrorCode.SessionExpired },
    });
    await waitFor(client.connection, (s) => s.status === "open", { timeoutMs: 20_000 });
    await waitFor(view, (s) => s.status === "success" && !s.isStale, { timeoutMs: 20_000 });
    expect(harness.socketTokens.at(-1)).toBeUndefined();
  });

  it("stops after a bounded number of refused upgrades and reports unauthorized", async () => {
    harness = await startAuthHarness({ refreshTokens: false });
    const client = harness.client();
    await harness.login(client, "alice");
    const token = await client.auth.getAccessToken();
    // The token is revoked behind the client's back: every upgrade now gets a 403.
    await revokeBehindTheClientsBack(token);
    const view = client.view("/counter");
    view.subscribe(() => {});
    const state = await waitFor(client.connection, (s) => s.status === "unauthorized", {
      timeoutMs: 15_000,
    });
    expect(state.status).toBe("unauthorized");
    expect(client.auth.getSnapshot()).toMatchObject({
      status: "error",
      error: { code: LenraErrorCode.Unauthorized },
    });
    const attempts = harness.server.count("refuse");
    expect(attempts).toBeGreaterThanOrEqual(3);
    expect(attempts).toBeLessThanOrEqual(8);
    await sleep(3000);
    expect(harness.server.count("refuse")).toBe(attempts);
    // Logging out recovers: the socket connects again, as a guest.
    await client.auth.logout();
    await waitFor(client.connection, (s) => s.status === "open", { timeoutMs: 20_000 });
  });
});
