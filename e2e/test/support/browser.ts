import { accessSync, constants } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

/** Screenshots of failed tests: `e2e/test-results/<test name>.png` (gitignored). */
export const resultsDir = fileURLToPath(new URL("../../test-results/", import.meta.url));

/** How long a Playwright action (click, fill, waitFor) may wait. */
export const ACTION_TIMEOUT_MS = 15_000;

/**
 * Launches Debian's Chromium (no Playwright browser download): `CHROMIUM_PATH`, or
 * `/usr/bin/chromium`. Every host name but 127.0.0.1 resolves to nothing, so a page can reach no
 * other machine even by mistake.
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  try {
    accessSync(executablePath, constants.X_OK);
  } catch {
    throw new Error(
      `No Chromium at ${executablePath}: the browser tests run Debian's Chromium. Install it (apt-get install -y chromium) or set CHROMIUM_PATH to a Chromium executable.`,
    );
  }
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--no-first-run",
      "--disable-component-update",
      "--disable-sync",
      "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ],
  });
}

/**
 * The browser contexts of one test (each one a separate visitor: its own cookies and storage),
 * with what their pages said. `finish` takes the screenshots of a failed test and closes them all.
 */
export class BrowserSession {
  readonly #browser: Browser;
  readonly #contexts: BrowserContext[] = [];
  /** Console errors and warnings, page errors and requests to anything but 127.0.0.1. */
  readonly #events: string[] = [];
  readonly #foreign: string[] = [];

  constructor(browser: Browser) {
    this.#browser = browser;
  }

  /**
   * A new visitor (fresh context) with one page; with `storageState` (a context's
   * `storageState()`), the same visitor coming back: a browser closed and opened again.
   */
  async newPage(storageState?: Awaited<ReturnType<BrowserContext["storageState"]>>): Promise<Page> {
    const context = await this.#browser.newContext({
      viewport: { width: 1000, height: 800 },
      storageState,
    });
    context.setDefaultTimeout(ACTION_TIMEOUT_MS);
    this.#contexts.push(context);
    const label = `context ${this.#contexts.length}`;
    context.on("request", (request) => this.#check(request.url()));
    context.on("page", (page) => this.#watch(page, label));
    const page = await context.newPage();
    return page;
  }

  /** Every open page (popups included). */
  pages(): Page[] {
    return this.#contexts.flatMap((context) => context.pages());
  }

  /**
   * Ends the test: on failure, saves a full-page screenshot of each open page and prints what the
   * pages logged; then closes every context. Fails if a page reached for another address.
   */
  async finish(testName: string, failed: boolean): Promise<void> {
    try {
      if (failed) await this.#report(testName);
    } finally {
      await Promise.all(this.#contexts.map((context) => context.close().catch(() => {})));
    }
    if (this.#foreign.length > 0) {
      throw new Error(
        `Pages requested addresses other than 127.0.0.1: ${this.#foreign.join(", ")}`,
      );
    }
  }

  async #report(testName: string): Promise<void> {
    await mkdir(resultsDir, { recursive: true });
    const base = testName.replace(/[^A-Za-z0-9._]+/g, "-").replace(/^-|-$/g, "");
    const pages = this.pages();
    for (const [index, page] of pages.entries()) {
      const file = join(resultsDir, `${base}${index === 0 ? "" : `-${index + 1}`}.png`);
      try {
        await page.screenshot({ path: file, fullPage: true, timeout: 5_000 });
        console.error(`screenshot of ${page.url()}: ${file}`);
      } catch (error) {
        console.error(`no screenshot of ${page.url()}: ${(error as Error).message}`);
      }
    }
    if (this.#events.length > 0) console.error(`browser:\n  ${this.#events.join("\n  ")}`);
  }

  #watch(page: Page, label: string): void {
    page.on("console", (message) => {
      const type = message.type();
      // Chromium's "Failed to load resource" names no URL: the response listener below does.
      if (
        (type === "error" || type === "warning") &&
        !/^Failed to load resource/.test(message.text())
      ) {
        this.#events.push(`${label} console.${type}: ${message.text()}`);
      }
    });
    page.on("response", (response) => {
      if (response.status() >= 400) {
        this.#events.push(`${label} HTTP ${response.status()} ${response.url()}`);
      }
    });
    page.on("pageerror", (error) => this.#events.push(`${label} page error: ${error.message}`));
    page.on("websocket", (socket) => this.#check(socket.url()));
  }

  #check(url: string): void {
    const { protocol, hostname } = new URL(url);
    if (!/^(https?|wss?):$/.test(protocol)) return;
    if (hostname !== "127.0.0.1") this.#foreign.push(url);
  }
}
