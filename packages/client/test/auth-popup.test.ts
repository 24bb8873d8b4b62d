// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CALLBACK_MESSAGE_TYPE, waitForPopupCallback } from "../src/auth/popup.ts";
import { sendLoginCallbackToOpener } from "../src/auth/redirect-page.ts";
import { LenraAuthError, LenraErrorCode } from "../src/errors.ts";

const REDIRECT_URI = "http://app.test/redirect.html";
const ORIGIN = "http://app.test";

/** A stand-in for the popup's WindowProxy: only identity, `closed` and `close()` matter. */
function fakePopup() {
  const popup = {
    closed: false,
    close: () => {
      popup.closed = true;
    },
  };
  return popup as unknown as Window & { closed: boolean };
}

function post(data: unknown, origin: string, source: unknown) {
  window.dispatchEvent(new MessageEvent("message", { data, origin, source: source as Window }));
}

const callback = (url = `${REDIRECT_URI}?code=abc&state=xyz`) => ({
  type: CALLBACK_MESSAGE_TYPE,
  url,
});

describe("waitForPopupCallback", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it("resolves with the URL posted by that popup from the redirect origin, and closes it", async () => {
    const popup = fakePopup();
    const result = waitForPopupCallback(
      popup,
      REDIRECT_URI,
      60_000,
      new AbortController().signal,
      LenraAuthError,
    );
    post(callback(), ORIGIN, popup);
    await expect(result).resolves.toEqual(new URL(`${REDIRECT_URI}?code=abc&state=xyz`));
    expect(popup.closed).toBe(true);
  });

  it("ignores a message from another origin", async () => {
    const popup = fakePopup();
    const settled = vi.fn();
    const result = waitForPopupCallback(
      popup,
      REDIRECT_URI,
      60_000,
      new AbortController().signal,
      LenraAuthError,
    ).then(settled, settled);
    post(callback(), "http://evil.test", popup);
    post(callback(), "http://app.test:8080", popup);
    await vi.advanceTimersByTimeAsync(1000);
    expect(settled).not.toHaveBeenCalled();
    post(callback(), ORIGIN, popup);
    await result;
    expect(settled).toHaveBeenCalledWith(expect.any(URL));
  });

  it("ignores a message from another window, even from the right origin", async () => {
    const popup = fakePopup();
    const settled = vi.fn();
    const result = waitForPopupCallback(
      popup,
      REDIRECT_URI,
      60_000,
      new AbortController().signal,
      LenraAuthError,
    ).then(settled, settled);
    post(callback(), ORIGIN, fakePopup());
    post(callback(), ORIGIN, window);
    post(callback(), ORIGIN, null);
    await vi.advanceTimersByTimeAsync(1000);
    expect(settled).not.toHaveBeenCalled();
    post(callback(), ORIGIN, popup);
    await result;
    expect(settled).toHaveBeenCalledTimes(1);
  });

  it("ignores malformed messages and callbacks for another path", async () => {
    const popup = fakePopup();
    const settled = vi.fn();
    const result = waitForPopupCallback(
      popup,
      REDIRECT_URI,
      60_000,
      new AbortController().signal,
      LenraAuthError,
    ).then(settled, settled);
    post("just a string", ORIGIN, popup);
    post({ type: "other", url: REDIRECT_URI }, ORIGIN, popup);
    post({ type: CALLBACK_MESSAGE_TYPE, url: 42 }, ORIGIN, popup);
    post(callback("http://app.test/elsewhere?code=abc&state=xyz"), ORIGIN, popup);
    post(callback("not a url"), ORIGIN, popup);
    await vi.advanceTimersByTimeAsync(1000);
    expect(settled).not.toHaveBeenCalled();
    post(callback(), ORIGIN, popup);
    await result;
  });

  it("rejects with popup_closed when the person closes the popup", async () => {
    const popup = fakePopup();
    const result = waitForPopupCallback(
      popup,
      REDIRECT_URI,
      60_000,
      new AbortController().signal,
      LenraAuthError,
    );
    const assertion = expect(result).rejects.toMatchObject({ code: LenraErrorCode.PopupClosed });
    popup.closed = true;
    await vi.advanceTimersByTimeAsync(1_500);
    await assertion;
    await expect(result).rejects.toBeInstanceOf(LenraAuthError);
  });

  it("still takes the callback when the popup shows closed just before its message arrives", async () => {
    const popup = fakePopup();
    const result = waitForPopupCallback(
      popup,
      REDIRECT_URI,
      60_000,
      new AbortController().signal,
      LenraAuthError,
    );
    // The redirect page posted, then closed itself; the browser reports the close first.
    popup.closed = true;
    await vi.advanceTimersByTimeAsync(500);
    post(callback(), ORIGIN, popup);
    await expect(result).resolves.toEqual(new URL(`${REDIRECT_URI}?code=abc&state=xyz`));
  });

  it("rejects with popup_timeout and closes the popup after the timeout", async () => {
    const popup = fakePopup();
    const result = waitForPopupCallback(
      popup,
      REDIRECT_URI,
      5_000,
      new AbortController().signal,
      LenraAuthError,
    );
    const assertion = expect(result).rejects.toMatchObject({ code: LenraErrorCode.PopupTimeout });
    await vi.advanceTimersByTimeAsync(5_000);
    await assertion;
    expect(popup.closed).toBe(true);
  });

  it.each([
    ["success", (popup: Window & { closed: boolean }) => post(callback(), ORIGIN, popup)],
    [
      "close",
      (popup: Window & { closed: boolean }) => {
        popup.closed = true;
      },
    ],
    ["timeout", () => {}],
  ])("leaves no listener or timer behind after %s", async (_name, finish) => {
    const added = vi.spyOn(window, "addEventListener");
    const removed = vi.spyOn(window, "removeEventListener");
    const popup = fakePopup();
    expect(vi.getTimerCount()).toBe(0);
    const result = waitForPopupCallback(
      popup,
      REDIRECT_URI,
      2_000,
      new AbortController().signal,
      LenraAuthError,
    ).catch(() => {});
    expect(vi.getTimerCount()).toBe(2);
    finish(popup);
    await vi.advanceTimersByTimeAsync(2_000);
    await result;
    expect(vi.getTimerCount()).toBe(0);
    const messageHandler = added.mock.calls.find(([type]) => type === "message")?.[1];
    expect(messageHandler).toBeTypeOf("function");
    expect(removed).toHaveBeenCalledWith("message", messageHandler);
  });
});

describe("sendLoginCallbackToOpener", () => {
  afterEach(() => {
    vi.restoreAllMocks();
    Object.defineProperty(window, "opener", { value: null, configurable: true });
  });

  it("posts the page URL to the opener with this page's origin as the explicit target", () => {
    const postMessage = vi.fn();
    Object.defineProperty(window, "opener", { value: { postMessage }, configurable: true });
    const close = vi.spyOn(window, "close").mockImplementation(() => {});
    expect(sendLoginCallbackToOpener()).toBe(true);
    expect(postMessage).toHaveBeenCalledWith(
      { type: CALLBACK_MESSAGE_TYPE, url: window.location.href },
      window.location.origin,
    );
    expect(postMessage.mock.calls[0]?.[1]).not.toBe("*");
    expect(close).toHaveBeenCalled();
  });

  it("posts what the login's popup wait accepts", async () => {
    const popup = fakePopup();
    const result = waitForPopupCallback(
      popup,
      window.location.href,
      60_000,
      new AbortController().signal,
      LenraAuthError,
    );
    const postMessage = (message: unknown, origin: string) => post(message, origin, popup);
    Object.defineProperty(window, "opener", { value: { postMessage }, configurable: true });
    vi.spyOn(window, "close").mockImplementation(() => {});
    expect(sendLoginCallbackToOpener()).toBe(true);
    await expect(result).resolves.toEqual(new URL(window.location.href));
  });

  it("returns false and posts nothing when the page is not a popup", () => {
    Object.defineProperty(window, "opener", { value: null, configurable: true });
    expect(sendLoginCallbackToOpener()).toBe(false);
  });
});
