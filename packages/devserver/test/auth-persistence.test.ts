/**
 * Logins that outlive a restart: with a data file, the OAuth server's keys, sessions, grants and
 * tokens are saved in its `auth` section, so a dev server started again on the file accepts the
 * tokens of the previous run. Expired entries are not saved.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as oauth from "oauth4webapi";
import { CookieJar } from "tough-cookie";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type AppProcess, startAppProcess } from "../src/app/process.ts";
import { type AuthServer, startAuthServer } from "../src/auth/auth-server.ts";
import { createMemoryStore } from "../src/auth/memory-adapter.ts";
import { createDataStore } from "../src/data/store.ts";
import { DevServerError, startDevServer } from "../src/index.ts";
import { counterAppDir, open, socketEndpoint, upgradeStatus } from "./dev-server-support.ts";
import { discover, login, refresh } from "./fixtures/auth/oauth.ts";
import { connectPhoenix } from "./helpers.ts";

let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "devserver-auth-data-"));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** An auth server whose logins live in `file`'s auth section, and how to stop both in order. */
async function authOnFile(file: string, port = 0) {
  const store = await createDataStore({ file, saveDelayMs: 0 });
  const auth = await startAuthServer({ port, persistence: store.section("auth") });
  return {
    auth,
    store,
    async close() {
      await auth.close();
      await store.close();
    },
  };
}

describe("the adapter's entries", () => {
  it("leave out what expired, and come back with their grant index", async () => {
    let now = 1_000_000;
    const changes: string[] = [];
    const first = createMemoryStore(
      () => changes.push("change"),
      () => now,
    );
    const tokens = first.adapterFor("AccessToken");
    await tokens.upsert("short", { grantId: "g1", kind: "AccessToken" } as never, 10);
    await tokens.upsert("long", { grantId: "g1", kind: "AccessToken" } as never, 1000);
    await first.adapterFor("Grant").upsert("g1", { accountId: "ann" } as never, 5000);
    expect(changes).toHaveLength(3);
    now += 20_000;
    const saved = first.entries();
    expect(saved.map(({ model, id }) => `${model}:${id}`).sort()).toEqual([
      "AccessToken:long",
      "Grant:g1",
    ]);
    expect(saved.find((entry) => entry.id === "long")?.expiresAt).toBe(1_000_000 + 1_000_000);

    const second = createMemoryStore(
      () => {},
      () => now,
    );
    now += 2_000_000; // the access token expired while nothing ran
    second.restore(saved);
    expect(await second.adapterFor("AccessToken").find("long")).toBeUndefined();
    expect(await second.adapterFor("Grant").find("g1")).toEqual({ accountId: "ann" });

    const third = createMemoryStore(
      () => {},
      () => 1_000_000,
    );
    third.restore(saved);
    expect(await third.adapterFor("AccessToken").find("long")).toEqual(
      expect.objectContaining({ grantId: "g1" }),
    );
    await third.adapterFor("AccessToken").revokeByGrantId("g1");
    expect(await third.adapterFor("AccessToken").find("long")).toBeUndefined();
  });
});

describe("an auth server on a data file", () => {
  it("accepts the previous run's tokens, ID tokens and login session", async () => {
    const file = join(scratch, "auth-restart.json");
    const first = await authOnFile(file);
    const as = await discover(first.auth);
    const cookies = new CookieJar();
    const { tokens, client } = await login(as, {
      username: "nora",
      scope: "openid app:websocket offline_access",
      cookies,
    });
    const kid = await signingKid(first.auth);
    const port = first.auth.port;
    await first.close();

    const second = await authOnFile(file, port);
    try {
      expect(second.auth.issuer).toBe(first.auth.issuer);
      expect(await signingKid(second.auth)).toBe(kid);
      expect(await second.auth.verifyAccessToken(tokens.access_token)).toMatchObject({
        userId: "nora",
      });
      // oauth4webapi checks the new ID token's signature against the JWKS, as before.
      const refreshed = await refresh(as, client, tokens.refresh_token!);
      expect(oauth.getValidatedIdTokenClaims(refreshed)?.sub).toBe("nora");
      expect(await second.auth.verifyAccessToken(refreshed.access_token)).toMatchObject({
        userId: "nora",
      });
      // The browser is still signed in: no form (an empty name would fail it).
      const again = await login(as, { username: "", cookies });
      expect(await second.auth.verifyAccessToken(again.tokens.access_token)).toMatchObject({
        userId: "nora",
      });
      // Rotation survived too: the used refresh token is refused.
      await expect(refresh(as, client, tokens.refresh_token!)).rejects.toThrow();
    } finally {
      await second.close();
    }
  });

  it("leaves expired tokens out of the file", async () => {
    const file = join(scratch, "auth-expiry.json");
    const store = await createDataStore({ file, saveDelayMs: 0 });
    const auth = await startAuthServer({
      port: 0,
      // Long enough to be saved before it expires on a loaded machine.
      accessTokenTtl: 3,
      persistence: store.section("auth"),
    });
    const { tokens } = await login(await discover(auth), { username: "otto" });
    await store.flush();
    const ids = async () =>
      (JSON.parse(await readFile(file, "utf8")).auth.entries as { model: string; id: string }[])
        .filter((entry) => entry.model === "AccessToken")
        .map((entry) => entry.id);
    expect(await ids()).toEqual([tokens.access_token]);
    await vi.waitFor(
      async () => expect(await auth.verifyAccessToken(tokens.access_token)).toBeUndefined(),
      { timeout: 6_000, interval: 100 },
    );
    await auth.close();
    await store.close();
    expect(await ids()).toEqual([]);
  });

  it("saves nothing without a file, and keeps logins for one run", async () => {
    const store = await createDataStore();
    const auth = await startAuthServer({ port: 0, persistence: store.section("auth") });
    const { tokens } = await login(await discover(auth), { username: "pia" });
    await auth.close();
    await store.close();
    const next = await startAuthServer({ port: 0 });
    try {
      expect(await next.verifyAccessToken(tokens.access_token)).toBeUndefined();
    } finally {
      await next.close();
    }
  });
});

describe("the dev server with --data", () => {
  let app: AppProcess;

  beforeAll(async () => {
    app = await startAppProcess({ dir: counterAppDir });
  });

  afterAll(async () => {
    await app?.stop();
  });

  it("accepts a login's access token on the socket after a restart, and redeems its refresh token", async () => {
    const file = join(scratch, "dev-server-restart.json");
    const first = await startDevServer({ app: app.url, port: 0, authPort: 0, data: file });
    const authPort = Number(new URL(first.auth.url).port);
    const as = await discover({ issuer: first.auth.url } as AuthServer);
    const { tokens, client } = await login(as, {
      username: "quinn",
      scope: "openid app:websocket offline_access",
    });
    const before = await open(connectPhoenix(first, { token: tokens.access_token }), "/counter/me");
    await before.run(before.code("onIncrement"));
    await first.close();

    const second = await startDevServer({ app: app.url, port: 0, authPort, data: file });
    try {
      expect(second.auth.url).toBe(first.auth.url);
      const mine = await open(
        connectPhoenix(second, { token: tokens.access_token }),
        "/counter/me",
      );
      expect(mine.document).toMatchObject({ value: 1 });
      const refreshed = await refresh(as, client, tokens.refresh_token!);
      expect(
        await upgradeStatus(socketEndpoint(second.socketUrl, { token: refreshed.access_token })),
      ).toBe(101);
    } finally {
      await second.close();
    }
  });

  it("refuses to start on an auth section it cannot read, naming the file and what to do", async () => {
    const file = join(scratch, "bad-auth.json");
    const text = JSON.stringify({ collections: {}, auth: { version: 1, jwks: {}, entries: [] } });
    await writeFile(file, text);
    const error = await startDevServer({ app: app.url, port: 0, authPort: 0, data: file }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(DevServerError);
    expect(error).toMatchObject({ reason: "invalid_data_file" });
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toContain('"auth" section is invalid: "jwks"');
    expect((error as Error).message).toContain('Delete the "auth" key');
    expect(await readFile(file, "utf8")).toBe(text);
  });
});

describe("a store opened on the file without an auth server", () => {
  it("writes the auth section back as it read it", async () => {
    const file = join(scratch, "edited.json");
    const first = await authOnFile(file);
    const { tokens } = await login(await discover(first.auth), { username: "rita" });
    await first.close();
    const before = JSON.parse(await readFile(file, "utf8")).auth;

    const editor = await createDataStore({ file, saveDelayMs: 0 });
    editor.createDoc("notes", { text: "edited while stopped" });
    await editor.close();
    expect(JSON.parse(await readFile(file, "utf8")).auth).toEqual(before);

    const second = await authOnFile(file);
    try {
      expect(await second.auth.verifyAccessToken(tokens.access_token)).toMatchObject({
        userId: "rita",
      });
    } finally {
      await second.close();
    }
  });
});

async function signingKid(server: AuthServer): Promise<string | undefined> {
  const response = await fetch(server.endpoints.jwks);
  return ((await response.json()) as { keys: { kid: string }[] }).keys[0]?.kid;
}
