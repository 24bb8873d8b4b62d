/**
 * The client against the dev server through a loopback fault proxy (`support/fault-proxy.ts`):
 * what networks and gateways do to a live page. Each test asserts the exact outcome; the
 * detection times are printed, not asserted (the machine is shared), and `connection-watchdog.test.ts`
 * checks them on a fake clock.
 */
import { listener } from "@lenra/devserver/testing";
import { afterEach, describe, expect, it } from "vitest";
import {
  type ConnectionStatus,
  type LenraClient,
  type LenraClientOptions,
  LenraErrorCode,
  type Listener,
} from "../src/index.ts";
import { type AuthHarness, CLIENT_ID, startAuthHarness } from "./support/auth.ts";
import { type FaultProxy, startFaultProxy } from "./support/fault-proxy.ts";
import { type Harness, startHarness, waitFor } from "./support/server.ts";

interface State {
  count: number;
}

interface Counter {
  value: number;
  onIncrement: Listener;
}

const HEARTBEAT_MS = 400;
const CONNECT_TIMEOUT_MS = 800;

let harness: Harness<State> | undefined;
let authHarness: AuthHarness | undefined;
let proxy: FaultProxy | undefined;

afterEach(async () => {
  await harness?.close();
  await authHarness?.close();
  await proxy?.close();
  harness = undefined;
  authHarness = undefined;
  proxy = undefined;
});

async function start(options: LenraClientOptions = {}) {
  harness = await startHarness<State>({
    state: { count: 0 },
    routes: {
      "/counter": {
        roles: ["guest", "user"],
        view: (state) => ({ value: state.count, onIncrement: listener("increment") }),
      },
    },
    listeners: {
      increment: (state) => {
        state.count += 1;
      },
    },
  });
  proxy = await startFaultProxy(harness.server.port);
  const client = harness.client({
    socketEndpoint: proxy.socketUrl(),
    heartbeatIntervalMs: HEARTBEAT_MS,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    ...options,
  });
  const view = client.view<Counter>("/counter");
  view.subscribe(() => {});
  await waitFor(view, (s) => s.status === "success");
  return { client, view, proxy, app: (harness as Harness<State>).app };
}

/** `run` pushes the server received. */
const runs = () => harness?.server.count("run") ?? 0;

/** Every connection status the client goes through from now on. */
function statusesOf(client: LenraClient): ConnectionStatus[] {
  const seen: ConnectionStatus[] = [];
  client.connection.subscribe(() => {
    const { status } = client.connection.getSnapshot();
    if (seen.at(-1) !== status) seen.push(status);
  });
  return seen;
}

describe("network faults between the client and the server", () => {
  it("notices a half-open socket by its heartbeat, marks views stale, and comes back with fresh data", async () => {
    const { client, view, proxy, app } = await start();
    const statuses = statusesOf(client);
    const stalledAt = Date.now();
    proxy.stall();
    await app.update((state) => {
      state.count = 5;
    });
    const stale = await waitFor(view, (s) => s.isStale);
    const detectedMs = Date.now() - stalledAt;
    expect(stale.data?.value).toBe(0);
    expect(client.connection.getSnapshot().status).toBe("reconnecting");
    const fresh = await waitFor(view, (s) => !s.isStale && s.data?.value === 5);
    const recoveredMs = Date.now() - stalledAt;
    expect(fresh.status).toBe("success");
    expect(statuses).toEqual(["reconnecting", "open"]);
    // The half-open connection is still there (nothing told either side); a second one took over.
    expect(proxy.acceptedBy.forward).toBe(2);
    console.log(
      `half-open socket: stale after ${detectedMs} ms (heartbeat ${HEARTBEAT_MS} ms), live again after ${recoveredMs} ms`,
    );
  });

  it("abandons upgrades that hang at the connect timeout and opens within one backoff step of the network healing", async () => {
    const { client, view, proxy, app } = await start();
    const statuses = statusesOf(client);
    proxy.setMode("blackhole");
    proxy.cut();
    await waitFor(view, (s) => s.isStale);
    await app.update((state) => {
      state.count = 3;
    });
    // Two hung upgrades: the first was given up, so the client kept trying.
    await until(() => proxy.acceptedBy.blackhole >= 2);
    expect(client.connection.getSnapshot()).toMatchObject({ status: "reconnecting" });
    expect(statuses).not.toContain("open");
    const healedAt = Date.now();
    const forwardedBefore = proxy.acceptedBy.forward;
    proxy.heal();
    await waitFor(view, (s) => !s.isStale && s.data?.value === 3);
    // The attempt hanging when the network healed times out; the next one is the one that opens.
    expect(proxy.acceptedBy.forward).toBe(forwardedBefore + 1);
    console.log(`hung upgrade: live again ${Date.now() - healedAt} ms after the network healed`);
  });

  it("rejects a call whose reply a cut connection lost as outcome unknown, never resending it", async () => {
    const { client, view, proxy } = await start({ listenerTimeoutMs: 2000 });
    proxy.setDelay(300);
    const call = view.getSnapshot().data?.onIncrement();
    await until(() => runs() === 1);
    proxy.cut();
    proxy.heal();
    await expect(call).rejects.toMatchObject({ code: LenraErrorCode.ListenerOutcomeUnknown });
    await waitFor(view, (s) => !s.isStale && s.data?.value === 1);
    expect(runs()).toBe(1);
    expect(client.connection.getSnapshot().status).toBe("open");
  });

  it("goes through delay and throttle without a reconnect: data loads, calls resolve", async () => {
    const { client, view, proxy } = await start();
    proxy.setDelay(150);
    proxy.setThrottle(20_000);
    const other = (harness as Harness<State>).client({
      socketEndpoint: proxy.socketUrl(),
      heartbeatIntervalMs: HEARTBEAT_MS * 5,
    });
    const slow = other.view<Counter>("/counter");
    slow.subscribe(() => {});
    await waitFor(slow, (s) => s.status === "success");
    for (let i = 0; i < 3; i++) await slow.getSnapshot().data?.onIncrement();
    await waitFor(slow, (s) => s.data?.value === 3);
    await waitFor(view, (s) => s.data?.value === 3);
    expect(other.connection.getSnapshot()).toMatchObject({ status: "open", attempt: 0 });
    expect(client.connection.getSnapshot()).toMatchObject({ status: "open", attempt: 0 });
    expect(proxy.accepted).toBe(2);
  });
});

describe("gateway errors against a signed-in client", () => {
  it("reads a 502 on the upgrade as an outage: no refresh, never unauthorized, back with the same token", async () => {
    authHarness = await startAuthHarness();
    proxy = await startFaultProxy(authHarness.server.port);
    const client = authHarness.client({
      socketEndpoint: proxy.socketUrl(),
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
    });
    await authHarness.login(client, "alice");
    const view = client.view<{ value: number }>("/me");
    view.subscribe(() => {});
    await waitFor(view, (s) => s.status === "success");
    const statuses = statusesOf(client);
    const tokenRequests = authHarness.tokenRequests.length;
    const token = authHarness.socketTokens.at(-1);
    proxy.setMode("bad-gateway");
    proxy.cut();
    // Past the refused attempts that would make the client suspect its token and refresh it.
    await until(() => (proxy as FaultProxy).acceptedBy["bad-gateway"] >= 5);
    expect(authHarness.tokenRequests.length).toBe(tokenRequests);
    expect(client.auth.getSnapshot().status).toBe("authenticated");
    expect(statuses).toEqual(["reconnecting"]);
    proxy.heal();
    await waitFor(view, (s) => !s.isStale && s.status === "success");
    expect(statuses).toEqual(["reconnecting", "open"]);
    expect(authHarness.socketTokens.at(-1)).toBe(token);
    expect(authHarness.tokenRequests.length).toBe(tokenRequests);
  });
});

describe("access token expiry while the network fails", () => {
  const OFFLINE = { scopes: ["app:websocket", "offline_access"] };

  it("with a refresh token: the socket that comes back after expiry carries a refreshed token", async () => {
    authHarness = await startAuthHarness({ accessTokenTtl: 2 });
    proxy = await startFaultProxy(authHarness.server.port);
    const client = authHarness.client({
      socketEndpoint: proxy.socketUrl(),
      heartbeatIntervalMs: HEARTBEAT_MS,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      login: OFFLINE,
    });
    await authHarness.login(client, "alice");
    const me = client.view<{ me: string; value: number }>("/me");
    me.subscribe(() => {});
    await waitFor(me, (s) => s.status === "success");
    const loginToken = authHarness.socketTokens.at(-1);
    // Half-open through the expiry: the token the socket had is dead when it comes back.
    proxy.stall();
    await waitFor(me, (s) => s.isStale);
    proxy.setMode("blackhole");
    await new Promise((resolve) => setTimeout(resolve, 2500));
    proxy.heal();
    await waitFor(me, (s) => !s.isStale && s.status === "success" && s.data?.me === "alice");
    const token = authHarness.socketTokens.at(-1);
    expect(token).not.toBe(loginToken);
    expect(await authHarness.auth.verifyAccessToken(token ?? "")).toMatchObject({
      userId: "alice",
    });
    expect(authHarness.tokenRequests.some((r) => r.grantType === "refresh_token")).toBe(true);
    expect(client.auth.getSnapshot()).toMatchObject({ status: "authenticated", error: undefined });
  });

  it("without a refresh token: the session ends at expiry and the socket comes back as a guest", async () => {
    authHarness = await startAuthHarness({ accessTokenTtl: 2, refreshTokens: false });
    proxy = await startFaultProxy(authHarness.server.port);
    const client = authHarness.client({
      socketEndpoint: proxy.socketUrl(),
      heartbeatIntervalMs: HEARTBEAT_MS,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
    });
    await authHarness.login(client, "alice");
    const me = client.view("/me");
    const counter = client.view<{ value: number }>("/counter");
    me.subscribe(() => {});
    counter.subscribe(() => {});
    await waitFor(me, (s) => s.status === "success");
    proxy.setMode("blackhole");
    proxy.cut();
    await waitFor(client.auth, (s) => s.status === "guest");
    // The guest's first attempt hangs too: only giving it up lets the guest connect.
    const hung = proxy.acceptedBy.blackhole;
    await until(() => (proxy as FaultProxy).acceptedBy.blackhole > hung);
    proxy.heal();
    expect(client.auth.getSnapshot()).toMatchObject({
      status: "guest",
      error: { code: LenraErrorCode.SessionExpired },
    });
    await waitFor(counter, (s) => !s.isStale && s.status === "success");
    // The user's data left with the session; the route is for users only.
    const refused = await waitFor(me, (s) => s.status === "error");
    expect(refused).toMatchObject({ data: undefined, error: { code: LenraErrorCode.JoinRefused } });
    expect(authHarness.socketTokens.at(-1)).toBeUndefined();
  });
});

describe("a refused token", () => {
  it("is found by a check that the server accepts the upgrade without it; one refresh, then unauthorized", async () => {
    authHarness = await startAuthHarness({ refreshTokens: false });
    const client = authHarness.client();
    await authHarness.login(client, "alice");
    const token = await client.auth.getAccessToken();
    const revoked = await fetch(authHarness.auth.endpoints.revocation, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: token ?? "", client_id: CLIENT_ID }),
    });
    expect(revoked.status).toBe(200);
    const view = client.view("/me");
    view.subscribe(() => {});
    await waitFor(client.connection, (s) => s.status === "unauthorized");
    // The check connected once without a token (a guest), which the server accepted.
    expect(authHarness.socketTokens.filter((t) => t === undefined)).toHaveLength(1);
    expect(view.getSnapshot()).toMatchObject({
      status: "error",
      error: { code: LenraErrorCode.Unauthorized },
    });
  });
});

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("Timed out waiting for a condition");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
