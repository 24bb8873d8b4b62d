/**
 * The react-counter and vue-counter examples in Chromium, against a real dev server running
 * counter-app. Both follow one contract (same DOM, `data-testid`s and behaviour: see the README).
 * Each test starts from fresh browser contexts; users are unique per test, the global counter is
 * shared, so tests compare it with what it was at their start.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AppPage, NOT_CONNECTED, signInOnDevLoginPage, uniqueUser } from "./support/app.ts";
import { BrowserSession, launchChromium } from "./support/browser.ts";
import { EXAMPLES, type Example, Harness } from "./support/lenra.ts";

/** What the recording pages note: the login status and every error message. */
const RECORDED = ["auth-status", ".error"];

let harness: Harness;
let browser: Browser;
let session: BrowserSession;

beforeAll(async () => {
  browser = await launchChromium();
  harness = await Harness.start(EXAMPLES);
});

/**
 * Waits at most 5 s (from now: call it once the dev server is ready) for `read` to give
 * `expected`: the bound within which a page must be live again after a restart.
 */
async function expectWithin5s<T>(read: () => Promise<T>, expected: T): Promise<void> {
  await expect.poll(read, { timeout: 5_000, message: "live within 5 s" }).toBe(expected);
}

/**
 * Restarts the dev server with the global counter raised by 5 while it was down (only a rejoin
 * after the restart can show it), then expects the page to show it within 5 s, connected.
 */
async function restartWithGlobalChange(app: AppPage, before: number): Promise<void> {
  await harness.stopDevServer();
  await expect.poll(() => app.text("connection")).toBeOneOf(NOT_CONNECTED);
  await harness.editStoppedData((store) => harness.addToGlobal(5, store));
  await harness.startDevServer();
  await expectWithin5s(() => app.number("global-value"), before + 5);
  await app.expectConnected();
}

afterAll(async () => {
  await browser?.close();
  await harness?.close();
});

beforeEach(() => {
  session = new BrowserSession(browser);
});

afterEach(async ({ task }) => {
  const failed = task.result?.state === "fail";
  const name = [task.suite?.name, task.name].filter(Boolean).join(" - ");
  try {
    await session.finish(name, failed);
  } finally {
    if (failed) console.error(`dev server log (last lines):\n${harness.log.slice(-40).join("\n")}`);
    // A test that failed with the dev server stopped must not take the next tests down with it.
    if (!harness.running) await harness.startDevServer();
  }
});

describe.each(EXAMPLES.map((example) => [example.name, example] as const))(
  "%s example",
  (_name: string, example: Example) => {
    /** A new visitor on the example, at `hash`. */
    async function visit(hash = "#/"): Promise<AppPage> {
      const app = new AppPage(await session.newPage(), harness.origin(example));
      await app.open(hash);
      return app;
    }

    /** Redirect login from the current page; returns once the app is back and authenticated. */
    async function redirectLogin(app: AppPage, username: string): Promise<void> {
      const startedAt = app.page.url();
      await app.byTestId("login").click();
      await signInOnDevLoginPage(app.page, harness.authOrigin, username);
      await app.expectText("auth-status", "authenticated");
      // The client puts the address bar back where login() was called (returnTo).
      await expect.poll(() => app.page.url()).toBe(startedAt);
    }

    /** Popup login; returns once the popup closed and the page is authenticated. */
    async function popupLogin(app: AppPage, username: string): Promise<Page> {
      const [popup] = await Promise.all([
        app.page.context().waitForEvent("page"),
        app.byTestId("login-popup").click(),
      ]);
      await signInOnDevLoginPage(popup, harness.authOrigin, username).catch((error: unknown) => {
        // The popup may close itself before the click has finished waiting on it.
        if (!popup.isClosed()) throw error;
      });
      if (!popup.isClosed()) await popup.waitForEvent("close");
      await app.expectText("auth-status", "authenticated");
      return popup;
    }

    /**
     * A new visitor (a fresh context, or a new tab of `context`, or a context with what a closed
     * one had stored) whose page records its login status and every error message from the
     * first render on.
     */
    async function recordingVisit(
      from?: BrowserContext | Awaited<ReturnType<BrowserContext["storageState"]>>,
    ): Promise<AppPage> {
      const page = from && "newPage" in from ? await from.newPage() : await session.newPage(from);
      const app = new AppPage(page, harness.origin(example));
      await app.recordTexts(RECORDED);
      await app.open();
      return app;
    }

    /**
     * Waits until `app` is signed in as `username`, live, with `me` on its counter, and checks
     * that the page went from `loading` to `authenticated` without a guest or an error between.
     */
    async function expectSignedIn(app: AppPage, username: string, me: number): Promise<void> {
      await app.expectText("auth-status", "authenticated");
      await app.expectText("user", username);
      await app.expectConnected();
      await app.expectNumber("me-value", me);
      expect(await app.seen("auth-status")).toEqual(["loading", "authenticated"]);
      expect(await app.seen(".error")).toEqual([]);
    }

    it("shows a guest the global counter, connected, and increments it", async () => {
      const app = new AppPage(await session.newPage(), harness.origin(example));
      await app.recordTexts(["connection"]);
      await app.open();
      await app.expectText("connection", "connected");
      // The first connection says so, and nothing worse, while the server is up.
      expect(await app.seen("connection")).toEqual(["connecting", "connected"]);
      await app.expectText("auth-status", "guest");
      expect(await app.byTestId("connection").getAttribute("data-status")).toBeTruthy();
      const start = await app.connectedGlobalValue();
      expect(start).toBe(harness.globalCount());
      expect(await app.text("me-value")).toBeUndefined();
      expect(await app.text("user")).toBeUndefined();

      await app.byTestId("global-inc").click();
      await app.expectNumber("global-value", start + 1);
      expect(harness.globalCount()).toBe(start + 1);
      await app.byTestId("global-dec").click();
      await app.expectNumber("global-value", start);
      expect(await app.text("global-error")).toBeUndefined();
    });

    it("disables a counter button while its call runs", async () => {
      // The page's socket goes through Playwright, which holds the server's replies to `run`
      // pushes until released: the call stays pending for as long as the test needs.
      const page = await session.newPage();
      const runs = new Set<string>();
      const held: (() => void)[] = [];
      await page.routeWebSocket(/\/socket\/websocket/, (client) => {
        const server = client.connectToServer();
        client.onMessage((message) => {
          const [, ref, , event] = JSON.parse(String(message)) as unknown[];
          if (event === "run") runs.add(String(ref));
          server.send(message);
        });
        server.onMessage((message) => {
          const [, ref, , event] = JSON.parse(String(message)) as unknown[];
          if (event === "phx_reply" && runs.has(String(ref))) held.push(() => client.send(message));
          else client.send(message);
        });
      });
      const app = new AppPage(page, harness.origin(example));
      await app.open();
      const start = await app.connectedGlobalValue();

      await app.byTestId("global-inc").click();
      await expect.poll(() => held.length).toBe(1);
      expect(await app.byTestId("global-inc").isDisabled()).toBe(true);
      expect(await app.byTestId("global-dec").isDisabled()).toBe(false);
      // The server's patch is not held: the value is already the new one.
      await app.expectNumber("global-value", start + 1);

      for (const release of held.splice(0)) release();
      await expect.poll(() => app.byTestId("global-inc").isDisabled()).toBe(false);
      expect(await app.text("global-error")).toBeUndefined();
    });

    it("shows another guest the global counter change live", async () => {
      const first = await visit();
      const second = await visit();
      const start = await first.connectedGlobalValue();
      await second.expectNumber("global-value", start);
      await second.markDocument();

      await first.byTestId("global-inc").click();
      await second.expectNumber("global-value", start + 1);
      await second.byTestId("global-inc").click();
      await first.expectNumber("global-value", start + 2);
      expect(await second.sameDocument()).toBe(true);
    });

    it("logs in through the dev login page with a redirect, and stays signed in across a reload", async () => {
      const app = await recordingVisit();
      await app.connectedGlobalValue();
      const username = uniqueUser(`${example.name}-redirect`);

      await redirectLogin(app, username);
      await app.expectText("user", username);
      await app.expectConnected();
      await app.expectNumber("me-value", 0);
      await app.byTestId("me-inc").click();
      await app.expectNumber("me-value", 1);
      expect(harness.userCount(username)).toBe(1);
      await app.expectText("me-error", undefined);

      // The session is kept (the client's default storage): the reloaded page is the same user,
      // `loading` until its stored session is redeemed, never a guest on the way.
      await app.page.reload();
      await expectSignedIn(app, username, 1);
      expect(harness.userCount(username)).toBe(1);
    });

    it("never sends the login's code or state in a Referer header", async () => {
      const app = await visit();
      await app.connectedGlobalValue();
      const referers: string[] = [];
      app.page.context().on("request", (request) => {
        const referer = request.headers().referer;
        if (referer) referers.push(referer);
      });
      await redirectLogin(app, uniqueUser(`${example.name}-referrer`));
      await app.expectConnected();
      // The redirect page loads the app's code while its address holds the code and state.
      expect(referers.filter((referer) => /[?&](code|state)=/.test(referer))).toEqual([]);
    });

    it("logs in in a popup without leaving the page, and stays signed in across a reload", async () => {
      const app = await recordingVisit();
      await app.connectedGlobalValue();
      await app.markDocument();
      const before = app.page.url();
      const username = uniqueUser(`${example.name}-popup`);

      const popup = await popupLogin(app, username);
      expect(popup.isClosed()).toBe(true);
      await app.expectText("user", username);
      await app.expectNumber("me-value", 0);
      await app.byTestId("me-inc").click();
      await app.expectNumber("me-value", 1);
      expect(await app.sameDocument()).toBe(true);
      expect(app.page.url()).toBe(before);
      expect(await app.seen(".error")).toEqual([]);

      await app.page.reload();
      await expectSignedIn(app, username, 1);
    });

    it("stays signed in in a second tab, in tabs opened together, and in a reopened browser", async () => {
      const first = await recordingVisit();
      await first.connectedGlobalValue();
      const username = uniqueUser(`${example.name}-tabs`);
      await popupLogin(first, username);
      await first.expectNumber("me-value", 0);
      const context = first.page.context();

      const second = await recordingVisit(context);
      await expectSignedIn(second, username, 0);
      // Both tabs are live on the user's data.
      await second.byTestId("me-inc").click();
      await first.expectNumber("me-value", 1);

      // Tabs that load at the same moment take turns with the refresh token, which each one
      // rotates: every one of them is signed in.
      const together = await Promise.all([1, 2, 3].map(() => recordingVisit(context)));
      for (const tab of together) await expectSignedIn(tab, username, 1);
      await first.byTestId("me-inc").click();
      for (const tab of [second, ...together]) await tab.expectNumber("me-value", 2);

      // The browser closed and opened again, with what it had stored.
      const stored = await context.storageState();
      await context.close();
      const reopened = await recordingVisit(stored);
      await expectSignedIn(reopened, username, 2);
      expect(harness.userCount(username)).toBe(2);
    });

    it("keeps one session in tabs that all load at the same moment, again and again", async () => {
      const first = await recordingVisit();
      await first.connectedGlobalValue();
      const username = uniqueUser(`${example.name}-rotation`);
      await popupLogin(first, username);
      const context = first.page.context();
      const refreshes: number[] = [];
      context.on("response", (response) => {
        const body = response.request().postData() ?? "";
        if (body.includes("grant_type=refresh_token")) refreshes.push(response.status());
      });
      const tabs = [first, ...(await Promise.all([1, 2, 3, 4].map(() => recordingVisit(context))))];
      // Every tab loads again at once, five times, each time all signed in (a page that goes
      // while it redeems the refresh token loses the new one: see the client's README): each
      // load takes the session up in turn, each one's storage a step behind the others'.
      for (let round = 0; round <= 5; round++) {
        for (const tab of tabs.slice(round === 0 ? 1 : 0)) await expectSignedIn(tab, username, 0);
        if (round < 5) await Promise.all(tabs.map((tab) => tab.page.reload()));
      }
      expect(refreshes.filter((status) => status !== 200)).toEqual([]);
      expect(refreshes).toHaveLength(4 + 5 * 5);
      await first.byTestId("me-inc").click();
      for (const tab of tabs) await tab.expectNumber("me-value", 1);
    });

    it("follows a login and a logout made in another tab, with no error on the way", async () => {
      const a = await recordingVisit();
      const context = a.page.context();
      // The sockets tab B opens, with their token param (a guest's has none).
      const sockets: URL[] = [];
      const bPage = await context.newPage();
      bPage.on("websocket", (socket) => sockets.push(new URL(socket.url())));
      const b = new AppPage(bPage, harness.origin(example));
      await b.recordTexts(RECORDED);
      await b.open();
      await a.connectedGlobalValue();
      await b.connectedGlobalValue();
      await b.expectText("auth-status", "guest");
      const username = uniqueUser(`${example.name}-follow`);

      await popupLogin(a, username);
      await expect
        .poll(() => b.text("auth-status"), { timeout: 5_000, message: "tab B signed in" })
        .toBe("authenticated");
      await b.expectText("user", username);
      await b.expectNumber("me-value", 0);
      await b.expectConnected();
      expect(sockets.at(-1)?.searchParams.get("token")).toBeTruthy();

      // "Log out" in tab A, which goes through the login server and comes back: tab B follows.
      await a.byTestId("logout").click();
      await expect
        .poll(() => b.text("auth-status"), { timeout: 5_000, message: "tab B logged out" })
        .toBe("guest");
      await b.byTestId("me-value").waitFor({ state: "detached" });
      await b.expectConnected();
      // Tab B's socket is a guest's now: the server no longer takes it for the user.
      expect(sockets.at(-1)?.searchParams.has("token")).toBe(false);
      const start = await b.connectedGlobalValue();
      await b.byTestId("global-inc").click();
      await b.expectNumber("global-value", start + 1);
      await a.page.waitForURL(`${harness.origin(example)}/`);
      await a.expectText("auth-status", "guest");

      // React renders a first `loading`; Vue renders after the startup checks, which a page
      // with no stored session ends at once.
      const statuses = await b.seen("auth-status");
      expect(statuses.filter((status, index) => index > 0 || status !== "loading")).toEqual([
        "guest",
        "authenticated",
        "guest",
      ]);
      for (const tab of [a, b]) expect(await tab.seen(".error")).toEqual([]);
    });

    it("shows a cancelled popup login as an auth error, then logs in", async () => {
      const app = await visit();
      await app.connectedGlobalValue();
      const [popup] = await Promise.all([
        app.page.context().waitForEvent("page"),
        app.byTestId("login-popup").click(),
      ]);
      await popup.waitForURL((url) => url.pathname.startsWith("/interaction/"));
      await popup.getByRole("button", { name: "Cancel" }).click();
      if (!popup.isClosed()) await popup.waitForEvent("close");
      await app.byTestId("auth-error").waitFor();
      // Said for the person, not the developer (no OAuth error code).
      expect(await app.text("auth-error")).toBe("The login was cancelled.");
      await app.expectText("auth-status", "error");
      expect(await app.text("me-value")).toBeUndefined();

      const username = uniqueUser(`${example.name}-retry`);
      await popupLogin(app, username);
      await app.expectText("user", username);
      await app.expectText("auth-error", undefined);
    });

    it("adds, toggles, opens and removes todos", async () => {
      const app = await visit();
      await app.byTestId("nav-todos").click();
      await expect.poll(() => new URL(app.page.url()).hash).toBe("#/todos");
      await app.byTestId("todos-login-hint").waitFor();
      // A redirect login started here comes back here.
      await redirectLogin(app, uniqueUser(`${example.name}-todos`));
      await app.expectNumber("todos-remaining", 0);
      // counter-app refuses a todo without a title: the listener's error shows, then goes with
      // the next call.
      await app.byTestId("todo-add").click();
      await app.byTestId("todo-add-error").waitFor();
      expect(await app.text("todo-add-error")).toBe("A todo needs a title");

      const items = app.byTestId("todo-item");
      const titles = [`buy milk ${example.name}`, `walk the dog ${example.name}`];
      for (const [index, title] of titles.entries()) {
        await app.byTestId("todo-new").fill(title);
        await app.byTestId("todo-add").click();
        await expect.poll(() => items.count()).toBe(index + 1);
      }
      await app.expectNumber("todos-remaining", 2);
      await expect.poll(() => items.getByTestId("todo-title").allTextContents()).toEqual(titles);
      expect(await app.text("todo-add-error")).toBeUndefined();

      const first = items.filter({ hasText: titles[0] });
      expect(await first.getAttribute("data-done")).toBe("false");
      await first.getByTestId("todo-toggle").click();
      await expect.poll(() => first.getAttribute("data-done")).toBe("true");
      await app.expectNumber("todos-remaining", 1);
      expect(await first.getByTestId("todo-toggle").isChecked()).toBe(true);

      // Its own page, #/todos/<id>.
      const href = await first.getByTestId("todo-link").getAttribute("href");
      const id = /#\/todos\/([^/?#]+)$/.exec(href ?? "")?.[1];
      expect(id, `todo-link href ${href}`).toBeTruthy();
      await first.getByTestId("todo-link").click();
      await expect.poll(() => new URL(app.page.url()).hash).toBe(`#/todos/${id}`);
      await app.expectText("todo-detail-title", titles[0]);
      await app.expectText("todo-detail-done", "done");
      await app.byTestId("todo-detail-toggle").click();
      await app.expectText("todo-detail-done", "open");

      await app.byTestId("todo-back").click();
      await expect.poll(() => new URL(app.page.url()).hash).toBe("#/todos");
      await expect.poll(() => first.getAttribute("data-done")).toBe("false");
      await app.expectNumber("todos-remaining", 2);

      await first.getByTestId("todo-remove").click();
      await expect
        .poll(() => items.getByTestId("todo-title").allTextContents())
        .toEqual([titles[1]]);
      await app.expectNumber("todos-remaining", 1);

      // The removed todo's page says so, in the app's words.
      await app.page.evaluate((hash) => {
        window.location.hash = hash;
      }, `#/todos/${id}`);
      await app.expectText("todo-detail-error", "Todo not found");
      await app.byTestId("nav-counter").click();
      await app.expectNumber("me-value", 0);
    });

    it("logs out back to a guest, the global counter still live", async () => {
      const app = await visit();
      await app.connectedGlobalValue();
      const username = uniqueUser(`${example.name}-logout`);
      await popupLogin(app, username);
      await app.expectNumber("me-value", 0);

      // Log out ends the login server's session too: the page comes back to the app's root.
      await app.byTestId("logout").click();
      await app.page.waitForURL(`${harness.origin(example)}/`);
      await app.expectText("auth-status", "guest");
      await app.byTestId("me-value").waitFor({ state: "detached" });
      expect(await app.text("user")).toBeUndefined();
      expect(await app.text("logout")).toBeUndefined();
      await app.byTestId("login").waitFor();

      await app.expectConnected();
      const value = harness.globalCount();
      await app.expectNumber("global-value", value);
      harness.addToGlobal(3);
      await app.expectNumber("global-value", value + 3);
      await app.byTestId("global-inc").click();
      await app.expectNumber("global-value", value + 4);
    });

    it("reconnects after a dev server restart and shows the current value", async () => {
      const app = await visit();
      const start = await app.connectedGlobalValue();
      await app.markDocument();

      // Changed while the page cannot hear of it; live again within 5 s of the server being ready.
      await restartWithGlobalChange(app, start);
      // The rejoined view is live again, both ways.
      harness.addToGlobal(1);
      await app.expectNumber("global-value", start + 6);
      await app.byTestId("global-inc").click();
      await app.expectNumber("global-value", start + 7);
      expect(harness.globalCount()).toBe(start + 7);
      expect(await app.sameDocument()).toBe(true);
    });

    it("turns a session the restarted dev server no longer knows into a guest, still live", async () => {
      const app = await visit();
      await app.connectedGlobalValue();
      await redirectLogin(app, uniqueUser(`${example.name}-restart`));
      await app.expectNumber("me-value", 0);
      await app.markDocument();

      // Restarted without its saved logins (as without --data): the page's tokens are unknown.
      // The socket is refused, one refresh fails, and the page goes on as a guest.
      await harness.stopDevServer();
      await harness.forgetLogins();
      await harness.startDevServer();
      await expect.poll(() => app.text("auth-status"), { timeout: 30_000 }).toBe("guest");
      // The page says the session ended (the refused refresh), not that the socket was refused.
      expect(await app.text("auth-error")).toMatch(/session/i);
      await app.expectConnected();
      expect(await app.text("me-value")).toBeUndefined();
      const start = await app.connectedGlobalValue();
      await app.byTestId("global-inc").click();
      await app.expectNumber("global-value", start + 1);
      expect(await app.byTestId("login").isVisible()).toBe(true);
      expect(await app.sameDocument()).toBe(true);
    });

    it("keeps a signed-in page signed in and live across a dev server restart (--data)", async () => {
      const app = new AppPage(await session.newPage(), harness.origin(example));
      await app.recordTexts([...RECORDED, "me-error", "global-error", "auth-error"]);
      await app.open();
      const start = await app.connectedGlobalValue();
      const username = uniqueUser(`${example.name}-kept`);
      await redirectLogin(app, username);
      await app.expectNumber("me-value", 0);
      await app.byTestId("me-inc").click();
      await app.expectNumber("me-value", 1);
      await app.markDocument();

      // The OAuth server's keys and tokens are in the data file: the page's tokens stay good.
      // Signed in and live again within 5 s of the server being ready.
      await restartWithGlobalChange(app, start);
      await app.expectText("auth-status", "authenticated");
      await app.expectText("user", username);
      await app.byTestId("me-inc").click();
      await app.expectNumber("me-value", 2);
      expect(harness.userCount(username)).toBe(2);
      expect(await app.sameDocument()).toBe(true);
      // No error was shown at any moment, and the page never stopped being signed in (this
      // document is the one the login came back to).
      const statuses = await app.seen("auth-status");
      expect(statuses.slice(statuses.indexOf("authenticated"))).toEqual(["authenticated"]);
      for (const testId of ["me-error", "global-error", "auth-error", ".error"]) {
        expect(await app.seen(testId), testId).toEqual([]);
      }
      // And a reload after the restart is still that user.
      await app.page.reload();
      await expectSignedIn(app, username, 2);
    });

    it("marks its data stale and disables its buttons while the dev server is down", async () => {
      const app = await visit();
      const start = await app.connectedGlobalValue();
      expect(await app.text("global-stale")).toBeUndefined();

      await harness.stopDevServer();
      await app.byTestId("global-stale").waitFor();
      // The last value stays on screen, marked, and cannot be acted on.
      await app.expectNumber("global-value", start);
      expect(await app.byTestId("global-inc").isDisabled()).toBe(true);
      expect(await app.byTestId("global-dec").isDisabled()).toBe(true);
      expect(await app.text("connection")).toBeOneOf(NOT_CONNECTED);

      await harness.startDevServer();
      await app.expectConnected();
      await app.byTestId("global-stale").waitFor({ state: "detached" });
      await expect.poll(() => app.byTestId("global-inc").isDisabled()).toBe(false);
      await app.byTestId("global-inc").click();
      await app.expectNumber("global-value", start + 1);
    });

    it("keeps the typed text of a todo the app refuses, and shows the app's words", async () => {
      const app = await visit("#/todos");
      await redirectLogin(app, uniqueUser(`${example.name}-keep`));
      await app.expectNumber("todos-remaining", 0);

      const tooLong = `a todo that goes on ${"and on ".repeat(14)}`;
      expect(tooLong.trim().length).toBeGreaterThan(100);
      await app.byTestId("todo-new").fill(tooLong);
      await app.byTestId("todo-add").click();
      await app.expectText("todo-add-error", "A todo title has 100 characters at most");
      expect(await app.byTestId("todo-new").inputValue()).toBe(tooLong);
      expect(await app.byTestId("todo-item").count()).toBe(0);

      // Fixed and sent again: added, and the field empties.
      await app.byTestId("todo-new").fill("a short todo");
      await app.byTestId("todo-add").click();
      await expect.poll(() => app.byTestId("todo-item").count()).toBe(1);
      await expect.poll(() => app.byTestId("todo-new").inputValue()).toBe("");
      await app.expectText("todo-add-error", undefined);
    });

    it("lets another person log in after logout, never showing the badge offline", async () => {
      const app = new AppPage(await session.newPage(), harness.origin(example));
      await app.recordTexts(["connection", ...RECORDED]);
      await app.open();
      await app.connectedGlobalValue();
      const first = uniqueUser(`${example.name}-first`);
      await popupLogin(app, first);
      await app.expectText("user", first);
      await app.expectNumber("me-value", 0);
      expect(await app.seen("connection")).not.toContain("offline");

      // Log out ends the login server's session too: the page comes back to the app's root.
      await app.byTestId("logout").click();
      await app.page.waitForURL(`${harness.origin(example)}/`);
      await app.expectText("auth-status", "guest");
      await app.expectConnected();

      // The login page asks for a name again instead of signing the first user back in.
      const second = uniqueUser(`${example.name}-second`);
      await popupLogin(app, second);
      await app.expectText("user", second);
      await app.expectNumber("me-value", 0);
      await app.byTestId("me-inc").click();
      await app.expectNumber("me-value", 1);
      expect(harness.userCount(second)).toBe(1);
      expect(harness.userCount(first)).toBe(0);
      expect(await app.seen("connection")).not.toContain("offline");
      expect(await app.seen("auth-status")).not.toContain("error");
      expect(await app.seen(".error")).toEqual([]);
    });
  },
);
