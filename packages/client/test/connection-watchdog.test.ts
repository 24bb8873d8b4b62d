/**
 * The connection's watchdog on a fake clock: the exact moments a half-open socket, a hung upgrade
 * and a gateway error are noticed, and how soon the socket comes back. The same cases run over
 * real sockets through a fault proxy in `resilience.integration.test.ts`.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  createLenraClient,
  type LenraClient,
  type LenraClientOptions,
  LenraErrorCode,
} from "../src/index.ts";
import { FakeWebSocket, network, resetNetwork } from "./support/fake-websocket.ts";

const HEARTBEAT = 1000;
const CONNECT_TIMEOUT = 3000;

let client: LenraClient | undefined;

beforeEach(() => {
  vi.useFakeTimers({
    toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"],
  });
  resetNetwork();
});

afterEach(async () => {
  let done = false;
  void client?.dispose().then(() => {
    done = true;
  });
  client = undefined;
  // Closing waits on the fake clock too (phoenix gives a dead socket's close a few tries).
  for (let i = 0; i < 100 && !done; i++) await vi.advanceTimersByTimeAsync(1000);
  vi.useRealTimers();
});

/** A gateway or server that answers plain HTTP requests with `status`. */
const answering = (status: number) => async () => new Response(null, { status });

function start(options: LenraClientOptions = {}) {
  client = createLenraClient({
    socketEndpoint: "ws://127.0.0.1:9/socket",
    transport: FakeWebSocket,
    heartbeatIntervalMs: HEARTBEAT,
    connectTimeoutMs: CONNECT_TIMEOUT,
    ...options,
  } as LenraClientOptions);
  const view = client.view<{ value: number }>("/counter");
  view.subscribe(() => {});
  return { client, view };
}

const status = () => client?.connection.getSnapshot().status;

describe("connection watchdog (fake clock)", () => {
  it("keeps a healthy socket open through many heartbeats", async () => {
    const { view } = start();
    await vi.advanceTimersByTimeAsync(50);
    expect(status()).toBe("open");
    expect(view.getSnapshot()).toMatchObject({ status: "success", isStale: false });
    await vi.advanceTimersByTimeAsync(HEARTBEAT * 20);
    expect(status()).toBe("open");
    expect(network.sockets).toHaveLength(1);
    const heartbeats = network.sockets[0]?.sent.filter((frame) => frame[3] === "heartbeat");
    expect(heartbeats?.length).toBeGreaterThanOrEqual(19);
  });

  it("notices a half-open socket within two heartbeat intervals: reconnecting, views stale at once", async () => {
    const { view } = start();
    await vi.advanceTimersByTimeAsync(50);
    expect(status()).toBe("open");
    const socket = network.sockets[0] as FakeWebSocket;
    socket.stalled = true;
    await vi.advanceTimersByTimeAsync(2 * HEARTBEAT);
    expect(status()).toBe("reconnecting");
    expect(view.getSnapshot()).toMatchObject({ status: "success", isStale: true });
  });

  it("reconnects after a half-open socket within one backoff step, and the views are live again", async () => {
    const { view } = start();
    await vi.advanceTimersByTimeAsync(50);
    (network.sockets[0] as FakeWebSocket).stalled = true;
    network.ui = () => ({ value: 2 });
    await vi.advanceTimersByTimeAsync(2 * HEARTBEAT);
    expect(status()).toBe("reconnecting");
    const { nextRetryAt } = client?.connection.getSnapshot() ?? {};
    expect(nextRetryAt).toBeGreaterThan(Date.now());
    // The dead socket's close never completes; the new attempt does not wait for it.
    await vi.advanceTimersByTimeAsync((nextRetryAt ?? 0) - Date.now() + 50);
    expect(network.sockets).toHaveLength(2);
    expect(status()).toBe("open");
    expect(view.getSnapshot()).toMatchObject({ data: { value: 2 }, isStale: false });
  });

  it("abandons a hung upgrade at the connect timeout and tries again one backoff step later", async () => {
    network.upgrade = "hang";
    start();
    await vi.advanceTimersByTimeAsync(CONNECT_TIMEOUT - 1);
    expect(status()).toBe("connecting");
    await vi.advanceTimersByTimeAsync(1);
    expect(client?.connection.getSnapshot()).toMatchObject({ status: "reconnecting", attempt: 1 });
    expect(network.sockets[0]?.readyState).toBeGreaterThanOrEqual(FakeWebSocket.CLOSING);
    const { nextRetryAt } = client?.connection.getSnapshot() ?? {};
    expect(nextRetryAt).toBeGreaterThan(Date.now());
    // The network heals: the attempt after one backoff step opens.
    network.upgrade = "open";
    await vi.advanceTimersByTimeAsync((nextRetryAt ?? 0) - Date.now() + 50);
    expect(network.sockets).toHaveLength(2);
    expect(status()).toBe("open");
  });

  it("treats a 502 on every upgrade as an outage: retries with backoff, never suspects the token", async () => {
    network.upgrade = 502;
    let tokenReads = 0;
    start({
      getAccessToken: () => {
        tokenReads += 1;
        return "a-token";
      },
      fetch: answering(502),
    });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(status()).toBe("reconnecting");
    expect(network.sockets.length).toBeGreaterThanOrEqual(8);
    // Each attempt read the token; the checks without it found the server refusing everyone.
    const checks = network.sockets.filter((s) => !new URL(s.url).searchParams.has("token"));
    expect(checks.length).toBeGreaterThan(0);
    expect(tokenReads).toBe(network.sockets.length - checks.length);
    network.upgrade = "open";
    // The next attempt is at most the backoff's cap (2 s) away, or already under way (then it
    // fails on the 502 it got and the one after opens): 2.5 s covers both.
    await vi.advanceTimersByTimeAsync(2_500);
    expect(status()).toBe("open");
  });

  it("finds a refused token (403, while the upgrade without it opens): unauthorized after a bounded number of attempts, left by connect()", async () => {
    // The server refuses the token, not the upgrade: without the token it opens.
    network.upgrade = (url) => (url.searchParams.has("token") ? 403 : "open");
    const { view } = start({ getAccessToken: () => "a-token", fetch: answering(403) });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(status()).toBe("unauthorized");
    const attempts = network.sockets.length;
    // Three refused attempts, one check without the token, three more after the one refresh.
    const withToken = network.sockets.filter((s) => new URL(s.url).searchParams.has("token"));
    expect(withToken.length).toBeGreaterThanOrEqual(3);
    expect(withToken.length).toBeLessThanOrEqual(6);
    expect(attempts - withToken.length).toBeLessThanOrEqual(2);
    // A view is not left pending without a word.
    expect(view.getSnapshot()).toMatchObject({
      status: "error",
      error: { code: LenraErrorCode.Unauthorized },
    });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(network.sockets).toHaveLength(attempts);
    // The server accepts the token again (it was restored): connect() tries again.
    network.upgrade = "open";
    client?.connect();
    await vi.advanceTimersByTimeAsync(200);
    expect(status()).toBe("open");
    expect(view.getSnapshot()).toMatchObject({ status: "success", error: undefined });
  });
});
