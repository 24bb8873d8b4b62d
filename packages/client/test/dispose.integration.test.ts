import { listener } from "@lenra/devserver/testing";
import { Window } from "happy-dom";
import { afterEach, describe, expect, it } from "vitest";
import { LenraErrorCode, type Listener } from "../src/index.ts";
import { type AuthHarness, CLIENT_ID, memoryStorage, startAuthHarness } from "./support/auth.ts";
import { type LeakTracker, trackLeaks } from "./support/leaks.ts";
import { type Harness, sleep, startHarness, waitFor } from "./support/server.ts";

let page: Window | undefined;
let tracker: LeakTracker | undefined;
let authHarness: AuthHarness | undefined;
let harness: Harness<{ count: number }> | undefined;

afterEach(async () => {
  tracker?.stop();
  tracker = undefined;
  for (const name of ["window", "document", "localStorage"]) {
    delete (globalThis as Record<string, unknown>)[name];
  }
  await page?.happyDOM.close();
  page = undefined;
  await authHarness?.close();
  authHarness = undefined;
  await harness?.close();
  harness = undefined;
});

/** A browser page around the client: window, document and localStorage from happy-dom. */
function openPage(): Window {
  page = new Window({ url: "http://localhost:5999/" });
  Object.assign(globalThis, {
    window: page,
    document: page.document,
    localStorage: page.localStorage,
  });
  return page;
}

const disposed = { code: LenraErrorCode.ClientDisposed };

describe("client.dispose()", () => {
  it("leaves no timer, event listener or socket behind, and every method throws afterwards", async () => {
    authHarness = await startAuthHarness();
    const browser = openPage();
    tracker = trackLeaks([browser, browser.document] as unknown as EventTarget[]);
    const client = authHarness.client({
      lingerMs: 60_000,
      login: { storage: "local", scopes: ["app:websocket", "offline_access"] },
    });
    client.auth.subscribe(() => {});
    await authHarness.login(client, "alice");
    const me = client.view<{ me: string; onIncrement: Listener }>("/me");
    const counter = client.view<{ value: number; onIncrement: Listener }>("/counter");
    me.subscribe(() => {});
    const stopCounter = counter.subscribe(() => {});
    const { data } = await waitFor(counter, (s) => s.status === "success");
    await waitFor(me, (s) => s.data?.me === "alice");
    await client.routes();
    await data?.onIncrement();
    // A linger timer (the counter's last subscriber left), the refresh timer, phoenix's
    // heartbeat, the listener on other tabs' storage and the one on the page's visibility.
    stopCounter();
    expect(tracker.timers().length).toBeGreaterThanOrEqual(3);
    expect(tracker.listeners().sort()).toEqual(["storage", "visibilitychange"]);
    expect(authHarness.server.stats().sockets).toBe(1);

    await client.dispose();

    expect(tracker.timers().map((timer) => timer.stack)).toEqual([]);
    expect(tracker.listeners()).toEqual([]);
    await authHarness.server.until(() => authHarness?.server.stats().sockets === 0);
    expect(client.connection.getSnapshot().status).toBe("closed");
    // Snapshots stay readable; everything else throws.
    expect(me.getSnapshot().data?.me).toBe("alice");
    expect(() => client.view("/me")).toThrow(expect.objectContaining(disposed));
    expect(() => client.routes()).toThrow(expect.objectContaining(disposed));
    expect(() => client.connect()).toThrow(expect.objectContaining(disposed));
    expect(() => client.disconnect()).toThrow(expect.objectContaining(disposed));
    expect(() => me.subscribe(() => {})).toThrow(expect.objectContaining(disposed));
    expect(() => me.load()).toThrow(expect.objectContaining(disposed));
    expect(() => me.retry()).toThrow(expect.objectContaining(disposed));
    await expect(client.auth.login()).rejects.toMatchObject(disposed);
    await expect(client.auth.logout()).rejects.toMatchObject(disposed);
    await expect(client.auth.getAccessToken()).rejects.toMatchObject(disposed);
    await expect(client.auth.handleRedirectCallback("http://localhost/")).rejects.toMatchObject(
      disposed,
    );
    await expect(me.getSnapshot().data?.onIncrement()).rejects.toMatchObject(disposed);
    // Disposing again does nothing more.
    await client.dispose();
    // Another tab's logout reaches nobody: the storage listener is gone.
    const key = `lenra:auth:${CLIENT_ID}`;
    const tokens = browser.localStorage.getItem(key) ?? undefined;
    browser.localStorage.removeItem(key);
    browser.dispatchEvent(
      new browser.StorageEvent("storage", {
        key,
        oldValue: tokens,
        storageArea: browser.localStorage,
      }),
    );
    expect(client.auth.getSnapshot().status).toBe("authenticated");
    await sleep(200);
    expect(authHarness.server.stats().sockets).toBe(0);
    expect(tracker.timers()).toEqual([]);
  });

  it("rejects the listener calls still waiting for a reply, at once", async () => {
    harness = await startHarness({
      state: { count: 0 },
      routes: {
        "/counter": {
          roles: ["guest"],
          view: (state) => ({ value: state.count, onIncrement: listener("increment") }),
        },
      },
      listeners: {
        increment: async (state) => {
          await sleep(5_000);
          state.count += 1;
        },
      },
    });
    tracker = trackLeaks([]);
    const client = harness.client({ listenerTimeoutMs: 1_000 });
    const counter = client.view<{ value: number; onIncrement: Listener }>("/counter");
    counter.subscribe(() => {});
    const { data } = await waitFor(counter, (s) => s.status === "success");
    const call = expect(data?.onIncrement()).rejects.toMatchObject(disposed);
    await sleep(50);
    await client.dispose();
    await call;
    // Phoenix has no public way to cancel a push's timeout: the one of that call is all that
    // is left, and it ends on its own without effect.
    const left = tracker.timers();
    expect(left).toHaveLength(1);
    expect(left[0]?.stack).toMatch(/startTimeout/);
    await waitFor(
      {
        subscribe: (notify) => {
          const timer = setInterval(notify, 50);
          return () => clearInterval(timer);
        },
        getSnapshot: () => tracker?.timers().length,
      },
      (count) => count === 0,
      { what: "phoenix's push timeout to end" },
    );
    expect(harness.server.stats().sockets).toBe(0);
  });

  it("cancels a login popup that is waiting, removing its listener and timers", async () => {
    authHarness = await startAuthHarness();
    const browser = openPage();
    const popup = {
      closed: false,
      close: () => {
        popup.closed = true;
      },
      location: { href: "" },
    };
    browser.open = (() => popup) as unknown as typeof browser.open;
    tracker = trackLeaks([browser] as unknown as EventTarget[]);
    const client = authHarness.client({ login: { loginMode: "popup", storage: memoryStorage() } });
    const login = client.auth.login();
    await waitFor(
      {
        subscribe: (notify) => {
          const timer = setInterval(notify, 20);
          return () => clearInterval(timer);
        },
        getSnapshot: () => tracker?.listeners().includes("message"),
      },
      (waiting) => waiting === true,
      { what: "the popup login to wait for its callback" },
    );
    expect(popup.location.href).toMatch(/\/oauth2\/auth\?/);
    await client.dispose();
    await expect(login).rejects.toMatchObject(disposed);
    expect(popup.closed).toBe(true);
    expect(tracker.listeners()).toEqual([]);
    expect(tracker.timers()).toEqual([]);
  });
});
