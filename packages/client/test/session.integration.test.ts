/**
 * Sessions that last: a stored session taken up by the next page, tabs that follow each other's
 * login, refresh and logout, and identity changes that never show an error. Against the real
 * OAuth server; the tabs are clients in one Node process sharing a `localStorage` that sends
 * `storage` events as a browser does (support/tabs.ts). e2e/ does the same in Chromium.
 */
import { completeDevLogin } from "@lenra/devserver/testing";
import { afterEach, describe, expect, it } from "vitest";
import { LenraAuthError, type LenraClient, LenraErrorCode } from "../src/index.ts";
import { type AuthHarness, CLIENT_ID, REDIRECT_URI, startAuthHarness } from "./support/auth.ts";
import { polled, waitFor } from "./support/server.ts";
import { installTabs } from "./support/tabs.ts";

let harness: AuthHarness;
let tabs: ReturnType<typeof installTabs> | undefined;

afterEach(async () => {
  await harness?.close();
  tabs?.remove();
  tabs = undefined;
});

const SCOPES = ["openid", "app:websocket", "offline_access"];

/** The stored session of the test client, as the tabs' localStorage holds it. */
function stored() {
  const raw = tabs?.items.get(`lenra:auth:${CLIENT_ID}:${harness.auth.url}`);
  return raw ? (JSON.parse(raw) as { id: string; refreshToken: string }) : undefined;
}

/** A page of the app: a client of the harness, with the scopes that give a user id. */
function page(options: Parameters<AuthHarness["client"]>[0] = {}): LenraClient {
  return harness.client({ ...options, login: { scopes: SCOPES, ...options.login } });
}

/** Every status `store` goes through from now on (the current one first). */
function statuses(store: {
  subscribe(fn: () => void): () => void;
  getSnapshot(): { status: string };
}) {
  const seen = [store.getSnapshot().status];
  store.subscribe(() => {
    const { status } = store.getSnapshot();
    if (seen.at(-1) !== status) seen.push(status);
  });
  return seen;
}

const refreshes = () => harness.tokenRequests.filter((r) => r.grantType === "refresh_token");

/** Alice logs in on a page that is then closed: the session it left in the storage. */
async function sessionOfAClosedPage() {
  harness = await startAuthHarness();
  tabs = installTabs();
  const first = page();
  await harness.login(first, "alice");
  const session = stored();
  await first.dispose();
  return session;
}

describe("a stored session", () => {
  it("is taken up by the next page: loading, then the same user, never a guest in between", async () => {
    harness = await startAuthHarness();
    tabs = installTabs();
    const first = page();
    await harness.login(first, "alice");
    const before = stored();
    expect(before?.refreshToken).toBeTypeOf("string");
    const firstToken = await first.auth.getAccessToken();
    // The access token is never stored.
    expect([...tabs.items.values()].join()).not.toContain(firstToken);
    await first.dispose();

    // A reload: a new page whose user-only view starts at once.
    const connectionsBefore = harness.socketTokens.length;
    const next = page({ maxJoinAttempts: 1 });
    const auth = statuses(next.auth);
    const me = next.view<{ me: string }>("/me");
    const view = statuses(me);
    const state = await waitFor(me, (s) => s.status === "success", { what: "alice's view" });
    expect(state.data?.me).toBe("alice");
    expect(auth).toEqual(["loading", "authenticated"]);
    expect(next.auth.getSnapshot().user?.sub).toBe("alice");
    expect(view).toEqual(["pending", "success"]);
    // One refresh redeemed the stored token, which rotated; the socket never opened as a guest.
    expect(refreshes()).toHaveLength(1);
    expect(refreshes()[0]?.body.get("refresh_token")).toBe(before?.refreshToken);
    expect(stored()).toMatchObject({ id: before?.id });
    expect(stored()?.refreshToken).not.toBe(before?.refreshToken);
    expect(harness.socketTokens.slice(connectionsBefore)).not.toContain(undefined);
  });

  it("ends as a guest with an expired-session error when the server refuses it, and is removed", async () => {
    const refreshToken = (await sessionOfAClosedPage())?.refreshToken ?? "";
    // Revoked behind the page's back, as a server that forgot its grants would.
    const revoked = await fetch(harness.auth.endpoints.revocation, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: refreshToken, client_id: CLIENT_ID }),
    });
    expect(revoked.status).toBe(200);

    const next = page();
    const auth = statuses(next.auth);
    const counter = next.view("/counter");
    counter.subscribe(() => {});
    await waitFor(counter, (s) => s.status === "success");
    expect(auth).toEqual(["loading", "guest"]);
    expect(next.auth.getSnapshot().error).toMatchObject({ code: LenraErrorCode.SessionExpired });
    expect(stored()).toBeUndefined();
    expect(harness.socketTokens.at(-1)).toBeUndefined();
  });

  it("is taken up as stored when the version record names a write the storage never got", async () => {
    const before = await sessionOfAClosedPage();
    // A tab that went between its two writes: IndexedDB names a version localStorage never shows.
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open("lenra-auth");
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    await new Promise((resolve) => {
      const transaction = db.transaction("session-versions", "readwrite");
      transaction
        .objectStore("session-versions")
        .put("lost", `lenra:auth:${CLIENT_ID}:${harness.auth.url}`);
      transaction.oncomplete = resolve;
    });
    db.close();

    const warnings: string[] = [];
    const next = page({ logger: { warn: (message: string) => warnings.push(message) } });
    const state = await waitFor(next.auth, (s) => s.status === "authenticated", {
      what: "the stored session taken up",
    });
    expect(state.user?.sub).toBe("alice");
    expect(warnings).toContain("The stored session did not catch up with the latest write in time");
    expect(refreshes().map((r) => r.body.get("refresh_token"))).toEqual([before?.refreshToken]);
  });

  it('is not kept with `storage: "memory"`, and kept for the tab only with `"session"`', async () => {
    harness = await startAuthHarness();
    tabs = installTabs();
    const session = tabs.withSessionStorage();
    const inMemory = page({ login: { storage: "memory" } });
    await harness.login(inMemory, "alice");
    expect(tabs.items.size).toBe(0);
    expect(session.items.size).toBe(0);
    const afterMemory = page({ login: { storage: "memory" } });
    await waitFor(afterMemory.auth, (s) => s.status !== "loading");
    expect(afterMemory.auth.getSnapshot().status).toBe("guest");

    const perTab = page({ login: { storage: "session" } });
    await harness.login(perTab, "bob");
    expect(tabs.items.size).toBe(0);
    expect([...session.items.keys()]).toEqual([`lenra:auth:${CLIENT_ID}:${harness.auth.url}`]);
    const reloaded = page({ login: { storage: "session" } });
    const state = await waitFor(reloaded.auth, (s) => s.status !== "loading");
    expect(state).toMatchObject({ status: "authenticated", user: { sub: "bob" } });
  });
});

describe("tabs of one origin", () => {
  /** Two tabs, both signed in as `username`: the first by login, the second taking it up. */
  async function twoSignedInTabs(username: string, options: Parameters<typeof page>[0] = {}) {
    const a = page(options);
    const b = page(options);
    b.auth.subscribe(() => {});
    await waitFor(b.auth, (s) => s.status === "guest");
    await harness.login(a, username);
    await waitFor(b.auth, (s) => s.status === "authenticated", { what: "tab B signed in" });
    return [a, b] as const;
  }

  it("a login in one tab signs the other in, with a token of its own, live", async () => {
    harness = await startAuthHarness();
    tabs = installTabs();
    const a = page();
    const b = page();
    const counter = b.view<{ value: number }>("/counter");
    counter.subscribe(() => {});
    await waitFor(counter, (s) => s.status === "success");
    expect(b.auth.getSnapshot().status).toBe("guest");

    await harness.login(a, "alice");
    const state = await waitFor(b.auth, (s) => s.status === "authenticated");
    expect(state.user?.sub).toBe("alice");
    const [tokenA, tokenB] = [await a.auth.getAccessToken(), await b.auth.getAccessToken()];
    expect(tokenB).toBeTypeOf("string");
    expect(tokenB).not.toBe(tokenA);
    // B's socket is alice's now: her own route, and the counter still live.
    const me = b.view<{ me: string }>("/me");
    me.subscribe(() => {});
    expect((await waitFor(me, (s) => s.status === "success")).data?.me).toBe("alice");
    await harness.app.update((s) => {
      s.count = 5;
    });
    await waitFor(counter, (s) => s.data?.value === 5 && !s.isStale);
  });

  it("a logout in one tab turns the other into a guest, whose socket is a guest's", async () => {
    harness = await startAuthHarness();
    tabs = installTabs();
    const [a, b] = await twoSignedInTabs("alice", { maxJoinAttempts: 1 });
    const counter = b.view("/counter");
    counter.subscribe(() => {});
    await waitFor(counter, (s) => s.status === "success");
    const auth = statuses(b.auth);

    await a.auth.logout();
    expect(stored()).toBeUndefined();
    await waitFor(b.auth, (s) => s.status === "guest", { what: "tab B logged out" });
    expect(auth).toEqual(["authenticated", "guest"]);
    expect(b.auth.getSnapshot().error).toBeUndefined();
    expect(await b.auth.getAccessToken()).toBeUndefined();
    // B reconnected as a guest: alice's route is refused to it now.
    const me = b.view("/me");
    me.subscribe(() => {});
    await waitFor(me, (s) => s.status === "error");
    await waitFor(counter, (s) => s.status === "success" && !s.isStale);
  });

  it("tabs refreshing one session never redeem the same refresh token twice", async () => {
    harness = await startAuthHarness({ accessTokenTtl: 2 });
    tabs = installTabs();
    const [a, b] = await twoSignedInTabs("alice");
    // Both tabs refresh ahead of expiry, every 1.5 s or so, each from what the other stored.
    await waitFor(
      polled(() => refreshes().length),
      (count) => count >= 5,
      {
        timeoutMs: 20_000,
        what: "five refreshes",
      },
    );
    const used = refreshes().map((r) => r.body.get("refresh_token"));
    expect(new Set(used).size).toBe(used.length);
    for (const tab of [a, b]) {
      expect(tab.auth.getSnapshot()).toMatchObject({ status: "authenticated", error: undefined });
      expect(
        await harness.auth.verifyAccessToken((await tab.auth.getAccessToken()) ?? ""),
      ).toMatchObject({
        userId: "alice",
      });
    }
  });

  it("a login as another person in one tab switches the other tab's views, with no error", async () => {
    harness = await startAuthHarness();
    tabs = installTabs();
    const [a, b] = await twoSignedInTabs("alice", { maxJoinAttempts: 1 });
    harness.app.state.personal.bob = 3;
    const me = b.view<{ me: string; value: number }>("/me");
    const seen: string[] = [];
    me.subscribe(() => {
      const { status, data } = me.getSnapshot();
      seen.push(`${status}:${data?.me ?? ""}`);
    });
    await waitFor(me, (s) => s.data?.me === "alice");

    await harness.login(a, "bob");
    const state = await waitFor(me, (s) => s.data?.me === "bob", { what: "bob's view in tab B" });
    expect(state.data?.value).toBe(3);
    expect(b.auth.getSnapshot().user?.sub).toBe("bob");
    expect(seen.filter((s) => s.startsWith("error"))).toEqual([]);
    // Alice's data went as bob came: never shown once the tab was bob's.
    expect(seen.slice(seen.indexOf("pending:"))).toEqual(["pending:", "success:bob"]);
  });
});

describe("identity changes without a flash of errors", () => {
  it("a user-only view joined the moment the login lands joins as the new user", async () => {
    harness = await startAuthHarness();
    // One refusal would be an error at once.
    const client = page({ maxJoinAttempts: 1 });
    const counter = client.view("/counter");
    counter.subscribe(() => {});
    await waitFor(counter, (s) => s.status === "success");
    const me = client.view<{ me: string }>("/me");
    let seen: string[] = [];
    // As an app does: the user-only view appears with the authenticated state, in the same tick.
    client.auth.subscribe(() => {
      if (client.auth.getSnapshot().status === "authenticated" && seen.length === 0) {
        seen = statuses(me);
      }
    });
    const counterSeen = statuses(counter);
    await harness.login(client, "alice");
    const state = await waitFor(me, (s) => s.status === "success", { what: "alice's view" });
    expect(state.data?.me).toBe("alice");
    expect(seen).toEqual(["pending", "success"]);
    expect(counterSeen).not.toContain("error");
  });

  it("a logout leaves no view in error before the app lets go of the user's views", async () => {
    harness = await startAuthHarness();
    const client = page({ maxJoinAttempts: 1 });
    await harness.login(client, "alice");
    const me = client.view<{ me: string }>("/me");
    const counter = client.view("/counter");
    const counterSeen = statuses(counter);
    // The app's one subscription to the user's view, which it drops once the state says guest.
    const seen: string[] = [];
    let stop: (() => void) | undefined = me.subscribe(() => seen.push(me.getSnapshot().status));
    client.auth.subscribe(() => {
      if (client.auth.getSnapshot().status === "guest") {
        stop?.();
        stop = undefined;
      }
    });
    await waitFor(me, (s) => s.status === "success");
    await client.auth.logout();
    await waitFor(counter, (s) => s.status === "success" && !s.isStale);
    expect(harness.socketTokens.at(-1)).toBeUndefined();
    expect(stop).toBeUndefined();
    expect(seen).toContain("success");
    expect(seen).not.toContain("error");
    expect(counterSeen).not.toContain("error");
  });
});

describe("login options", () => {
  it("sends prompt and login_hint; prompt=none without a session fails with the server's words", async () => {
    harness = await startAuthHarness();
    const client = page();
    let authorizationUrl = "";
    await client.auth.login({
      prompt: "none",
      loginHint: "alice",
      openUrl: (url) => {
        authorizationUrl = url;
      },
    });
    const params = new URL(authorizationUrl).searchParams;
    expect(params.get("prompt")).toBe("none");
    expect(params.get("login_hint")).toBe("alice");
    // No session on this "browser": the server answers at once, without a page.
    const callbackUrl = await completeDevLogin({ authorizationUrl, username: "alice" });
    const error = await client.auth.handleRedirectCallback(callbackUrl).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LenraAuthError);
    expect(error).toMatchObject({
      code: LenraErrorCode.AuthFailed,
      oauthError: "login_required",
      cause: { error: "login_required" },
    });
    expect((error as Error).message).toContain("login_required");
  });

  it("resolves a redirectUri path against the page's origin when the login starts", async () => {
    harness = await startAuthHarness();
    tabs = installTabs(new URL(REDIRECT_URI).origin);
    const client = page({ login: { redirectUri: new URL(REDIRECT_URI).pathname } });
    let authorizationUrl = "";
    await client.auth.login({
      openUrl: (url) => {
        authorizationUrl = url;
      },
    });
    expect(new URL(authorizationUrl).searchParams.get("redirect_uri")).toBe(REDIRECT_URI);
    const callbackUrl = await completeDevLogin({ authorizationUrl, username: "alice" });
    expect(client.auth.isRedirectCallback(callbackUrl)).toBe(true);
    await client.auth.handleRedirectCallback(callbackUrl);
    expect(client.auth.getSnapshot().status).toBe("authenticated");
    tabs.remove();
    tabs = undefined;
    // Outside a browser a path has no origin: the login says what to set.
    await expect(client.auth.login({ openUrl: () => {} })).rejects.toThrow(
      /`redirectUri` to a full URL outside a browser/,
    );
  });

  it("keeps what a failed token request says, as its cause, without the response", async () => {
    harness = await startAuthHarness();
    // The token endpoint answers an HTML error page (a proxy in front of it, say).
    const failing: typeof fetch = async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (url.pathname === "/oauth2/token") {
        return new Response("<html>upstream error</html>", {
          status: 502,
          headers: { "content-type": "text/html" },
        });
      }
      return fetch(input, init);
    };
    const client = page({ login: { fetch: failing } });
    const error = await harness.login(client, "alice").catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: LenraErrorCode.TokenRequestFailed,
      cause: { status: 502, code: expect.any(String), message: expect.any(String) },
    });
    const { message, cause } = error as Error & { cause: { message: string } };
    expect(message).toContain(cause.message);
    expect(JSON.stringify(cause)).not.toContain("upstream error");
  });
});
