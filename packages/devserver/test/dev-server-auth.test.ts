import type * as oauth from "oauth4webapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AppProcess, startAppProcess } from "../src/app/process.ts";
import { type DevServer, startDevServer } from "../src/index.ts";
import type { AuthServer } from "../src/testing.ts";
import {
  counterAppDir,
  guest,
  open,
  socketEndpoint,
  testUser,
  upgradeStatus,
} from "./dev-server-support.ts";
import { discover, login, revoke } from "./fixtures/auth/oauth.ts";
import { connectPhoenix, joinChannel, sleep } from "./helpers.ts";

let app: AppProcess;
let server: DevServer;
let shortLived: DevServer;
let as: oauth.AuthorizationServer;
let shortAs: oauth.AuthorizationServer;

const asAuthServer = (devServer: DevServer) => ({ issuer: devServer.auth.url }) as AuthServer;

beforeAll(async () => {
  // One app process serves both dev servers, given as a URL (the `--app <url>` mode).
  app = await startAppProcess({ dir: counterAppDir });
  server = await startDevServer({ app: app.url, port: 0, authPort: 0 });
  // Tokens for 3 s: long enough to connect with one on a loaded machine, short enough to outlive.
  shortLived = await startDevServer({ app: app.url, port: 0, authPort: 0, accessTokenTtl: 3 });
  as = await discover(asAuthServer(server));
  shortAs = await discover(asAuthServer(shortLived));
});

afterAll(async () => {
  await server?.close();
  await shortLived?.close();
  await app?.stop();
});

describe("sockets authenticated with the dev OAuth server", () => {
  it("reports the issuer and the dev client", () => {
    expect(server.auth.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.auth.endpoints.authorization).toBe(`${server.auth.url}/oauth2/auth`);
    expect(server.auth.clients.map((client) => client.clientId)).toEqual(["lenra-dev"]);
    expect(server.app).toEqual({ url: app.url, pid: undefined, dir: undefined });
  });

  it("makes a real login's access token a user session whose id is @me", async () => {
    const { tokens } = await login(as, { username: "alice" });
    const socket = connectPhoenix(server, { token: tokens.access_token });
    const mine = await open(socket, "/counter/me");
    expect(mine.document).toMatchObject({ value: 0 });
    // onUserFirstJoin created the counter of the token's subject.
    expect(server.store.find("counter", { query: { user: "alice" } })).toEqual([
      { _id: expect.any(String), user: "alice", count: 0 },
    ]);
    await mine.run(mine.code("onIncrement"));
    expect(server.store.find("counter", { query: { user: "alice" } })[0]?.count).toBe(1);

    const routes = await joinChannel(socket.channel("routes", { mode: "json" }));
    expect((routes.response as { jsonRoutes: unknown[] }).jsonRoutes).toHaveLength(4);
  });

  it("lets a socket without a token in as a guest", async () => {
    const route = await open(guest(server), "/counter/global");
    expect(route.document).toMatchObject({ value: expect.any(Number) });
    const refused = await joinChannel(guest(server).channel("route:/counter/me", { mode: "json" }));
    expect(refused.response).toMatchObject({ reason: "route_does_not_exist" });
  });

  it("answers HTTP 403 on the upgrade for an invalid token", async () => {
    expect(await upgradeStatus(socketEndpoint(server.socketUrl, { token: "made-up" }))).toBe(403);
    // The test-only tokens are off unless a test asks for them, and the CLI never does.
    expect(await upgradeStatus(socketEndpoint(server.socketUrl, { token: "user:alice" }))).toBe(
      403,
    );
  });

  it("answers HTTP 403 for a revoked token", async () => {
    const { tokens, client } = await login(as, { username: "bob" });
    const endpoint = socketEndpoint(server.socketUrl, { token: tokens.access_token });
    expect(await upgradeStatus(endpoint)).toBe(101);
    await revoke(as, client, tokens.access_token);
    expect(await upgradeStatus(endpoint)).toBe(403);
  });

  it("answers HTTP 403 once the token expired", async () => {
    const asked = Date.now();
    const { tokens } = await login(shortAs, { username: "carol" });
    expect(tokens.expires_in).toBe(3);
    const endpoint = socketEndpoint(shortLived.socketUrl, { token: tokens.access_token });
    expect(await upgradeStatus(endpoint)).toBe(101);
    // Past the expiry, whole seconds rounded up.
    await sleep(asked + 4_100 - Date.now());
    expect(await upgradeStatus(endpoint)).toBe(403);
    // A token is checked when the socket connects; a socket already open stays open.
  });

  it("keeps the test-only tokens for servers that ask for them", async () => {
    const testServer = await startDevServer({
      app: app.url,
      port: 0,
      authPort: 0,
      insecureTestTokens: true,
    });
    try {
      const route = await open(testUser(testServer, "dave"), "/counter/me");
      expect(route.document).toMatchObject({ value: 0 });
      expect(testServer.store.find("counter", { query: { user: "dave" } })).toHaveLength(1);
      const { tokens } = await login(await discover(asAuthServer(testServer)), {
        username: "erin",
      });
      expect(
        await upgradeStatus(socketEndpoint(testServer.socketUrl, { token: tokens.access_token })),
      ).toBe(101);
    } finally {
      await testServer.close();
    }
  });
});
