import { type AuthHarness, REDIRECT_URI, startAuthHarness } from "@lenra/test-utils/auth";
import { act, cleanup, render, screen, waitFor } from "@testing-library/react";
import { StrictMode } from "react";
import { afterEach, describe, expect, it } from "vitest";
import {
  Authenticated,
  AuthLoading,
  createLenraClient,
  type LenraClient,
  LenraErrorCode,
  LenraProvider,
  type Listener,
  Unauthenticated,
  useLenraAuth,
  useLenraView,
} from "../src/index.ts";

let harness: AuthHarness;

afterEach(async () => {
  cleanup();
  await harness?.close();
});

function Me() {
  const { data } = useLenraView<{ me: string; onPing: Listener }>("/me");
  return <p>me:{data?.me ?? "…"}</p>;
}

function Page({ log }: { log: string[] }) {
  const { status, logout } = useLenraAuth();
  log.push(status);
  return (
    <>
      <AuthLoading>
        <p>checking</p>
      </AuthLoading>
      <Unauthenticated>
        <p>hello guest</p>
      </Unauthenticated>
      <Authenticated>
        <button type="button" onClick={() => logout()}>
          log out
        </button>
      </Authenticated>
      <Me />
    </>
  );
}

function app(client: LenraClient, log: string[] = []) {
  return (
    <LenraProvider client={client}>
      <Page log={log} />
    </LenraProvider>
  );
}

describe("auth hooks and gates with a real login", () => {
  it("goes from loading to guest, to the logged-in user, and back to guest on logout", async () => {
    harness = await startAuthHarness();
    const client = harness.client();
    const log: string[] = [];
    render(app(client, log));
    expect(log[0]).toBe("loading");
    await screen.findByText("hello guest");
    await screen.findByText("me:guest");
    const url = await harness.callbackUrl(client, "alice");
    await act(() => client.auth.handleRedirectCallback(url));
    expect(screen.queryByText("hello guest")).toBeNull();
    await screen.findByText("me:alice");
    act(() => screen.getByText("log out").click());
    await screen.findByText("hello guest");
    await screen.findByText("me:guest");
    expect(log).toContain("authenticated");
  });

  it("handles the login callback in the URL once under StrictMode", async () => {
    harness = await startAuthHarness();
    const client = harness.client();
    const url = await harness.callbackUrl(client, "bob");
    (window as unknown as { happyDOM: { setURL(url: string): void } }).happyDOM.setURL(url);
    render(<StrictMode>{app(client)}</StrictMode>);
    await screen.findByText("log out");
    await screen.findByText("me:bob");
    expect(harness.tokenRequests).toEqual(["authorization_code"]);
    // The code and state left the address bar once used.
    await waitFor(() => expect(window.location.href).toBe(REDIRECT_URI));
  });
});

/** The last `login` the guest page rendered. */
let guestLogin: (() => Promise<void>) | undefined;

function GuestPage() {
  const auth = useLenraAuth();
  guestLogin = () => auth.login();
  return (
    <>
      <AuthLoading>checking</AuthLoading>
      <Unauthenticated>hello {auth.status}</Unauthenticated>
      <Authenticated>logged in</Authenticated>
    </>
  );
}

describe("a client without a login", () => {
  it("is a guest at once, and login() says no login was configured and how to add one", async () => {
    const client = createLenraClient();
    const { container } = render(
      <LenraProvider client={client}>
        <GuestPage />
      </LenraProvider>,
    );
    expect(container.textContent).toBe("hello guest");
    const error = await guestLogin?.().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: LenraErrorCode.LoginNotConfigured });
    expect((error as Error).message).toMatch(/lenraLogin\(\{ clientId/);
    expect((error as Error).message).toContain('"@lenra/react/login"');
    expect(container.textContent).toBe("hello guest");
    cleanup();
    await client.dispose();
  });
});
