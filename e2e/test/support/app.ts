import type { Locator, Page } from "playwright-core";
import { expect } from "vitest";

/** The connection badge's texts while the dev server is down (see the README's contract). */
export const NOT_CONNECTED = ["reconnecting", "offline"];

/** A user id no other test uses: every test starts with fresh personal data. */
export function uniqueUser(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
}

/** One page of an example app, read through its data-testid attributes. */
export class AppPage {
  constructor(
    readonly page: Page,
    readonly origin: string,
  ) {}

  byTestId(testId: string): Locator {
    return this.page.getByTestId(testId);
  }

  /** Opens the app at `hash` (`#/`, `#/todos`, ...) and waits for the connection badge. */
  async open(hash = "#/"): Promise<void> {
    await this.page.goto(`${this.origin}/${hash}`);
    await this.byTestId("connection").waitFor();
  }

  /**
   * The trimmed text of the one element with `testId`, `undefined` when there is none. It never
   * waits, so it is what `expect.poll` calls.
   */
  async text(testId: string): Promise<string | undefined> {
    const texts = await this.byTestId(testId).allTextContents();
    if (texts.length > 1) throw new Error(`${texts.length} elements have data-testid=${testId}`);
    return texts[0]?.trim();
  }

  /** The number shown by `testId` (NaN when it is not one, `undefined` when absent). */
  async number(testId: string): Promise<number | undefined> {
    const text = await this.text(testId);
    if (text === undefined) return undefined;
    return /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
  }

  /** Waits until `testId` shows `expected`. */
  async expectText(testId: string, expected: string | undefined): Promise<void> {
    await expect.poll(() => this.text(testId), { message: `data-testid=${testId}` }).toBe(expected);
  }

  /** Waits until `testId` shows the number `expected`. */
  async expectNumber(testId: string, expected: number): Promise<void> {
    await expect
      .poll(() => this.number(testId), { message: `data-testid=${testId}` })
      .toBe(expected);
  }

  async expectConnected(): Promise<void> {
    await this.expectText("connection", "connected");
  }

  /** Waits until the app is connected and shows the global counter; returns its value. */
  async connectedGlobalValue(): Promise<number> {
    await this.expectConnected();
    await expect
      .poll(() => this.number("global-value"), { message: "global-value is a number" })
      .toSatisfy(Number.isInteger);
    return (await this.number("global-value"))!;
  }

  /**
   * Records, from each document's first render on, every text shown by the elements with one of
   * `testIds` (an element that appears counts, one that goes away does not), read back with
   * {@link seen}; `.error` stands for every error message (both examples give them that class).
   * Call it before {@link open}: it runs in every document the page loads.
   */
  async recordTexts(testIds: readonly string[]): Promise<void> {
    await this.page.addInitScript((ids: readonly string[]) => {
      const seen: Record<string, string[]> = {};
      (window as unknown as { e2eSeen: typeof seen }).e2eSeen = seen;
      const note = () => {
        for (const id of ids) {
          const selector = id.startsWith(".") ? id : `[data-testid="${id}"]`;
          for (const element of document.querySelectorAll(selector)) {
            const text = element.textContent?.trim() ?? "";
            seen[id] ??= [];
            if (seen[id].at(-1) !== text) seen[id].push(text);
          }
        }
      };
      new MutationObserver(note).observe(document, {
        subtree: true,
        childList: true,
        characterData: true,
      });
    }, testIds);
  }

  /** The texts `testId` showed in the current document, in order, repeats folded (see recordTexts). */
  async seen(testId: string): Promise<string[]> {
    return this.page.evaluate(
      (id) => (window as unknown as { e2eSeen?: Record<string, string[]> }).e2eSeen?.[id] ?? [],
      testId,
    );
  }

  /**
   * Marks the current document; {@link sameDocument} tells later whether the page is still that
   * document, i.e. it neither navigated nor reloaded (hash changes keep it).
   */
  async markDocument(): Promise<void> {
    await this.page.evaluate(() => {
      (window as unknown as { e2eMark: boolean }).e2eMark = true;
    });
  }

  async sameDocument(): Promise<boolean> {
    return this.page.evaluate(() => (window as unknown as { e2eMark?: boolean }).e2eMark === true);
  }
}

/**
 * Signs in on the dev auth server's login page (packages/devserver/src/auth/pages.ts): a user
 * name and the "Sign in" button, no password.
 */
export async function signInOnDevLoginPage(
  page: Page,
  authOrigin: string,
  username: string,
): Promise<void> {
  await page.waitForURL(
    (url) => url.origin === authOrigin && url.pathname.startsWith("/interaction/"),
  );
  await page.locator("#username").fill(username);
  await page.getByRole("button", { name: "Sign in" }).click();
}
