import { completeDevLogin } from "@lenra/devserver/testing";
import { Window } from "happy-dom";
import { afterEach, describe, expect, it } from "vitest";
import { LenraErrorCode } from "../src/index.ts";
import { type AuthHarness, REDIRECT_URI, startAuthHarness } from "./support/auth.ts";
import { waitFor } from "./support/server.ts";

let harness: AuthHarness;
let page: Window | undefined;

afterEach(async () => {
  delete (globalThis as { window?: unknown }).window;
  await page?.happyDOM.close();
  page = undefined;
  await harness?.close();
});

describe("a page that loads at the login callback", () => {
  it("connects as the new user when a view starts while the callback is redeemed", async () => {
    harness = await startAuthHarness();
    const client = harness.client();
    let authorizationUrl = "";
    await client.auth.login({
      openUrl: (url) => {
        authorizationUrl = url;
      },
    });
    const callbackUrl = await completeDevLogin({ authorizationUrl, username: "alice" });
    // Only `window`: the rest (fetch) stays Node's.
    page = new Window({ url: callbackUrl });
    (globalThis as { window?: unknown }).window = page;

    // The view asks for a token first: that waits for the startup checks, which redeem the
    // callback and then reconnect for the new identity while the first attempt is prepared.
    const me = client.view<{ me: string }>("/me");
    me.subscribe(() => {});
    client.auth.subscribe(() => {});
    const state = await waitFor(me, (s) => s.data?.me === "alice", { what: "alice's view" });
    expect(state.status).toBe("success");
    expect(client.auth.getSnapshot().status).toBe("authenticated");
    expect(harness.tokenRequests.map((r) => r.grantType)).toEqual(["authorization_code"]);
  });

  it("goes back to the page the login started from when the server refused the login", async () => {
    harness = await startAuthHarness();
    const client = harness.client({ login: { handleRedirectCallback: false } });
    let state = "";
    await client.auth.login({
      returnTo: "/#/todos",
      openUrl: (url) => {
        state = new URL(url).searchParams.get("state") ?? "";
      },
    });
    page = new Window({ url: `${REDIRECT_URI}?error=access_denied&state=${state}` });
    (globalThis as { window?: unknown }).window = page;

    await expect(client.auth.handleRedirectCallback()).rejects.toMatchObject({
      code: LenraErrorCode.AuthFailed,
    });
    expect(page.location.href).toBe(new URL("/#/todos", REDIRECT_URI).href);
  });
});
