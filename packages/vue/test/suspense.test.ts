import { type AuthHarness, startAuthHarness } from "@lenra/test-utils/auth";
import { type CounterView, type Harness, type Item, startHarness } from "@lenra/test-utils/server";
import { afterEach, describe, expect, it, vi } from "vitest";
import { defineComponent, h, onErrorCaptured, ref, Suspense } from "vue";
import { Authenticated, LenraErrorCode, useLenraView } from "../src/index.ts";
import { mountWith } from "./support/mount.ts";

let harness: Harness | AuthHarness | undefined;

afterEach(async () => {
  vi.restoreAllMocks();
  await harness?.close();
  harness = undefined;
});

/** A component whose async setup waits for the view at `path`, then shows `show(data)`. */
function suspending<T>(path: string, show: (data: T | undefined) => string) {
  return defineComponent({
    async setup() {
      const { data, suspense } = useLenraView<T>(path);
      await suspense();
      return () => h("p", show(data.value as T | undefined));
    },
  });
}

/** What the boundaries and fallbacks below rendered, in order. */
let shown: string[] = [];
const note = (text: string) => {
  if (shown.at(-1) !== text) shown.push(text);
  return text;
};

/**
 * `<Suspense>` around `inner`, showing the code of any error it catches; with `onReset`, a
 * "retry" button too, as apps write them: it calls `onReset` (here the view's `retry()`) and
 * mounts `inner` again.
 */
function boundary(inner: ReturnType<typeof defineComponent>, onReset?: () => void) {
  return defineComponent({
    setup() {
      const caught = ref<string>();
      onErrorCaptured((error) => {
        const { code, reason } = error as { code?: string; reason?: string };
        caught.value = `${code} ${reason}`;
        return false;
      });
      const retry = () => {
        onReset?.();
        caught.value = undefined;
      };
      return () =>
        caught.value
          ? h("div", [
              h("p", note(`caught: ${caught.value}`)),
              onReset && h("button", { onClick: retry }, "retry"),
            ])
          : h(Suspense, null, {
              default: () => h(inner),
              fallback: () => h("p", note("loading")),
            });
    },
  });
}

describe("suspense()", () => {
  it("holds an async setup under <Suspense> until the first data, with one join", async () => {
    harness = await startHarness();
    // Vue says <Suspense> is experimental.
    vi.spyOn(console, "info").mockImplementation(() => {});
    const wrapper = mountWith(
      harness.client(),
      boundary(suspending<CounterView>("/counter", (data) => `value:${data?.value}`)),
    );
    expect(wrapper.text()).toBe("loading");
    await vi.waitFor(() => expect(wrapper.text()).toBe("value:0"));
    await harness.app.update((state) => {
      state.count = 3;
    });
    await vi.waitFor(() => expect(wrapper.text()).toBe("value:3"));
    expect(harness.joins("route:/counter")).toBe(1);
    expect(harness.leaves("route:/counter")).toBe(0);
  });

  it("rejects with the view's error, for onErrorCaptured", async () => {
    harness = await startHarness();
    const wrapper = mountWith(
      harness.client({ maxJoinAttempts: 1 }),
      boundary(suspending<Item>("/items/missing", (data) => String(data?.title))),
    );
    await vi.waitFor(() =>
      expect(wrapper.text()).toBe(`caught: ${LenraErrorCode.JoinRefused} view_error`),
    );
  });

  it("waits while a refused join is tried again; only the final refusal is thrown", async () => {
    const server = await startHarness();
    harness = server;
    shown = [];
    vi.spyOn(console, "info").mockImplementation(() => {});
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const refusals = () =>
      server.server.events.filter((e) => e.type === "join" && e.topic === "route:/no-such-route")
        .length;
    const wrapper = mountWith(
      server.client({ maxJoinAttempts: 3 }),
      boundary(suspending("/no-such-route", () => "joined")),
    );
    const caught = `caught: ${LenraErrorCode.JoinRefused} route_does_not_exist`;
    // Phoenix joins again after 0.5 s, then 1 s.
    await vi.waitFor(() => expect(wrapper.text()).toContain(caught), { timeout: 10_000 });
    expect(refusals()).toBe(3);
    expect(shown).toEqual(["loading", caught]);
  });

  it("gets a fresh attempt from a boundary reset that calls view.retry(), then the data once the route works", async () => {
    const server = await startHarness();
    harness = server;
    shown = [];
    vi.spyOn(console, "info").mockImplementation(() => {});
    vi.spyOn(console, "warn").mockImplementation(() => {});
    // One attempt per retry: the failing view would fail each time.
    const client = server.client({ maxJoinAttempts: 1 });
    const wrapper = mountWith(
      client,
      boundary(
        suspending<Item>("/items/i9", (data) => `title:${data?.title}`),
        () => client.view("/items/i9").retry(),
      ),
    );
    const caught = `caught: ${LenraErrorCode.JoinRefused} view_error`;
    await vi.waitFor(() => expect(wrapper.text()).toContain(caught));
    const joins = server.joinAttempts("route:/items/i9");

    // Still failing: the reset waits for a new attempt instead of showing the old error again.
    await wrapper.get("button").trigger("click");
    await vi.waitFor(() => expect(shown).toEqual(["loading", caught, "loading", caught]));
    expect(server.joinAttempts("route:/items/i9")).toBe(joins + 1);

    await server.app.update((state) => {
      state.items.push({ id: "i9", title: "Nine" });
    });
    await wrapper.get("button").trigger("click");
    await vi.waitFor(() => expect(wrapper.text()).toBe("title:Nine"));
  });

  it("shows a user-only view that appears with the login, never an error on the way", async () => {
    const auth = await startAuthHarness();
    harness = auth;
    shown = [];
    vi.spyOn(console, "info").mockImplementation(() => {});
    // One refusal would be thrown at once.
    const client = auth.client({ maxJoinAttempts: 1 });
    const Mine = boundary(suspending<{ me: string }>("/mine", (data) => `mine:${data?.me}`));
    const wrapper = mountWith(
      client,
      defineComponent({ setup: () => () => h(Authenticated, () => h(Mine)) }),
    );
    await client.auth.getAccessToken();
    const url = await auth.callbackUrl(client, "alice");
    await client.auth.handleRedirectCallback(url);
    await vi.waitFor(() => expect(wrapper.text()).toBe("mine:alice"));
    expect(shown).toEqual(["loading"]);
  });
});
