import { type AuthHarness, REDIRECT_URI, startAuthHarness } from "@lenra/test-utils/auth";
import { afterEach, describe, expect, it, vi } from "vitest";
import { defineComponent, h } from "vue";
import {
  Authenticated,
  AuthLoading,
  createAuthGuard,
  createLenraClient,
  LenraErrorCode,
  type Listener,
  Unauthenticated,
  useLenraAuth,
  useLenraView,
} from "../src/index.ts";
import { mountWith } from "./support/mount.ts";

let harness: AuthHarness;

afterEach(async () => {
  await harness?.close();
});

/** Every login status the page rendered, in order. */
let log: string[] = [];

const Page = defineComponent({
  setup() {
    const { status, logout } = useLenraAuth();
    const { data } = useLenraView<{ me: string; onPing: Listener }>("/me");
    return () => {
      log.push(status.value);
      return h("div", [
        h(AuthLoading, () => h("p", "checking")),
        h(Unauthenticated, () => h("p", "hello guest")),
        h(Authenticated, () => h("button", { onClick: () => logout() }, "log out")),
        h("p", `me:${data.value?.me ?? "…"}`),
      ]);
    };
  },
});

describe("auth composables and gates with a real login", () => {
  it("starts as a guest, shows the logged-in user, and goes back to guest on logout", async () => {
    harness = await startAuthHarness();
    const client = harness.client();
    log = [];
    expect(client.auth.getSnapshot().status).toBe("loading");
    const wrapper = mountWith(client, Page);
    // Subscribing in setup() runs the startup checks: without stored tokens they end at once.
    expect(log[0]).toBe("guest");
    await vi.waitFor(() => expect(wrapper.text()).toBe("hello guestme:guest"));
    const url = await harness.callbackUrl(client, "alice");
    await client.auth.handleRedirectCallback(url);
    await vi.waitFor(() => expect(wrapper.text()).toBe("log outme:alice"));
    await wrapper.get("button").trigger("click");
    await vi.waitFor(() => expect(wrapper.text()).toBe("hello guestme:guest"));
    expect(log).toContain("authenticated");
  });

  it("handles the login callback in the URL once", async () => {
    harness = await startAuthHarness();
    const client = harness.client();
    const url = await harness.callbackUrl(client, "bob");
    (window as unknown as { happyDOM: { setURL(url: string): void } }).happyDOM.setURL(url);
    log = [];
    const wrapper = mountWith(client, Page);
    mountWith(client, Page);
    expect(wrapper.text()).toBe("checkingme:…");
    await vi.waitFor(() => expect(wrapper.text()).toBe("log outme:bob"));
    expect(log[0]).toBe("loading");
    expect(harness.tokenRequests).toEqual(["authorization_code"]);
    await vi.waitFor(() => expect(window.location.href).toBe(REDIRECT_URI));
  });
});

describe("createAuthGuard", () => {
  it("waits until the login state is known, then returns what the check decides", async () => {
    harness = await startAuthHarness();
    const client = harness.client();
    const guard = createAuthGuard(client, (auth, to: { path: string }) =>
      to.path.startsWith("/private") && auth.status !== "authenticated" ? "/login" : true,
    );
    expect(client.auth.getSnapshot().status).toBe("loading");
    await expect(guard({ path: "/private/todos" })).resolves.toBe("/login");
    await expect(guard({ path: "/" })).resolves.toBe(true);
    const url = await harness.callbackUrl(client, "carol");
    await client.auth.handleRedirectCallback(url);
    await expect(guard({ path: "/private/todos" })).resolves.toBe(true);
    await expect(createAuthGuard(client)({ path: "/" })).resolves.toBeUndefined();
  });
});

describe("a client without a login", () => {
  it("is a guest at once, and login() says no login was configured and how to add one", async () => {
    const client = createLenraClient();
    let login: (() => Promise<void>) | undefined;
    const GuestPage = defineComponent({
      setup() {
        const auth = useLenraAuth();
        login = () => auth.login();
        return () =>
          h("div", [
            h(AuthLoading, () => "checking"),
            h(Unauthenticated, () => `hello ${auth.status.value}`),
            h(Authenticated, () => "logged in"),
          ]);
      },
    });
    const wrapper = mountWith(client, GuestPage);
    expect(wrapper.text()).toBe("hello guest");
    const error = await login?.().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: LenraErrorCode.LoginNotConfigured });
    expect((error as Error).message).toMatch(/lenraLogin\(\{ clientId/);
    expect((error as Error).message).toContain('"@lenra/vue/login"');
    expect(wrapper.text()).toBe("hello guest");
    wrapper.unmount();
    await client.dispose();
  });
});
