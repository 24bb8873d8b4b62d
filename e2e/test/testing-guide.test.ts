/**
 * The code of docs/testing-with-the-dev-server.md, run as the guide shows it: each `#region`
 * below is one code block of the guide, and the last test fails when the guide's blocks and
 * these regions differ, so the guide cannot show code that no longer works. The app is
 * examples/counter-app (or its copy under `LENRA_EXAMPLES_DIR`, as for the browser tests).
 */
import { readFile } from "node:fs/promises";
// #region imports
import { createLenraClient, type LenraClient, LenraErrorCode } from "@lenra/client";
import { lenraLogin } from "@lenra/client/login";
import { type DevServer, startDevServer } from "@lenra/devserver";
import { startProtocolServer } from "@lenra/devserver/protocol";
import {
  completeDevLogin,
  createTestApp,
  devLogout,
  insecureTestToken,
  listener,
} from "@lenra/devserver/testing";
import { CookieJar } from "tough-cookie";
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { WebSocket } from "ws";
// #endregion
import { counterAppDir as appDir } from "./support/lenra.ts";

// #region setup
let server: DevServer;
const clients: LenraClient[] = [];

beforeAll(async () => {
  server = await startDevServer({
    app: appDir, // the app's folder, started as its Lenra image would start it
    port: 0, // free ports, so tests never collide with a running dev server
    authPort: 0,
    insecureTestTokens: true, // tests only: the socket token "user:<id>" is that user
  });
});
afterAll(() => server?.close());
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.dispose()));
});

/** A client of the dev server, as the app's front end would create it, for Node. */
function connect(options: Parameters<typeof createLenraClient>[0] = {}): LenraClient {
  const client = createLenraClient({
    appName: "counter-app",
    socketEndpoint: server.socketUrl,
    transport: WebSocket, // Node 20 has no global WebSocket
    ...options,
  });
  clients.push(client);
  return client;
}

/** What the app's `counter` view renders (see "End-to-end types" in @lenra/client's README). */
interface Counter {
  value: number;
  onIncrement: { _type: "listener"; code: string };
}
// #endregion

describe("testing an app with the dev server", () => {
  // #region guest
  it("lets a guest increment the global counter", async () => {
    const lenra = connect();
    const counter = lenra.view<Counter>("/counter/global");
    const { data } = await counter.load();
    const before = data!.value;

    await data!.onIncrement();
    // The reply comes after the session's views were updated: no need to wait for the patch.
    expect(counter.getSnapshot().data?.value).toBe(before + 1);
  });
  // #endregion

  // #region test-token
  it("gives each user a counter of their own", async () => {
    const alice = connect({ getAccessToken: () => insecureTestToken("alice") });
    const counter = alice.view<Counter>("/counter/me");
    const { data } = await counter.load();
    expect(data?.value).toBe(0); // onUserFirstJoin created it

    await data!.onIncrement();
    expect(counter.getSnapshot().data?.value).toBe(1);
    // What the app stored, straight from the dev server's data.
    expect(server.store.find("counter", { query: { user: "alice" } })).toMatchObject([
      { count: 1 },
    ]);
  });

  it("keeps users' routes from guests", async () => {
    const { error } = await connect().view("/counter/me").load();
    expect(error?.code).toBe(LenraErrorCode.JoinRefused);
  });
  // #endregion

  // #region login
  it("logs a user in and out through the OAuth server", async () => {
    const lenra = connect({
      login: lenraLogin({
        clientId: "lenra-dev",
        baseUri: server.auth.url,
        allowInsecureRequests: true, // http:// on 127.0.0.1
        // Both registered for lenra-dev: the login comes back here, and the logout there.
        redirectUri: "http://localhost:5173/redirect.html",
        postLogoutRedirectUri: "http://localhost:5173/",
        scopes: ["openid", "app:websocket"],
      }),
    });
    const cookies = new CookieJar(); // the "browser" of this test: it keeps the login session

    let authorizationUrl = "";
    await lenra.auth.login({
      openUrl: (url) => {
        authorizationUrl = url;
      },
    });
    const callbackUrl = await completeDevLogin({ authorizationUrl, username: "bob", cookies });
    await lenra.auth.handleRedirectCallback(callbackUrl);
    expect(lenra.auth.getSnapshot()).toMatchObject({
      status: "authenticated",
      user: { sub: "bob" },
    });
    expect((await lenra.view<Counter>("/counter/me").load()).data?.value).toBe(0);

    let logoutUrl = "";
    await lenra.auth.logout({
      endSession: true,
      openUrl: (url) => {
        logoutUrl = url;
      },
    });
    expect(await devLogout({ logoutUrl, cookies })).toBe("http://localhost:5173/");
    expect(lenra.auth.getSnapshot().status).toBe("guest");
  });
  // #endregion
});

// #region test-app
describe("testing a front end with an in-process app", () => {
  it("shows what the app pushes, and the app's failures", async () => {
    const app = createTestApp({
      state: { count: 0 },
      routes: {
        "/counter": {
          roles: ["guest", "user"],
          view: (state) => ({ value: state.count, onIncrement: listener("increment") }),
        },
      },
      listeners: {
        increment: (state) => {
          if (state.count >= 10) throw new Error("The counter stops at 10");
          state.count++;
        },
      },
    });
    const backend = await startProtocolServer({ backend: app });
    onTestFinished(() => backend.close());
    const lenra = connect({ socketEndpoint: backend.socketUrl });
    const counter = lenra.view<Counter>("/counter");
    expect((await counter.load()).data?.value).toBe(0);

    // Every open /counter gets a patchUi.
    await app.update((state) => {
      state.count = 10;
    });
    await expect.poll(() => counter.getSnapshot().data?.value).toBe(10);
    await expect(counter.getSnapshot().data!.onIncrement()).rejects.toMatchObject({
      code: LenraErrorCode.ListenerFailed,
      message: expect.stringContaining("The counter stops at 10"),
    });
  });
});
// #endregion

describe("docs/testing-with-the-dev-server.md", () => {
  it("shows the code of this file's regions, word for word", async () => {
    const source = await readFile(new URL(import.meta.url), "utf8");
    const guide = await readFile(
      new URL("../../docs/testing-with-the-dev-server.md", import.meta.url),
      "utf8",
    );
    const regions = [...source.matchAll(/\/\/ #region (\S+)\n([\s\S]*?)\n *\/\/ #endregion/g)];
    const blocks = [...guide.matchAll(/<!-- region: (\S+) -->\n```ts\n([\s\S]*?)\n```/g)];
    expect(blocks.map(([, name]) => name)).toEqual(regions.map(([, name]) => name));
    for (const [index, [, name, code]] of regions.entries()) {
      expect(blocks[index]?.[2], `the guide's "${name}" block`).toBe(dedent(code ?? ""));
    }
  });
});

/** Removes the indentation every line of `text` shares. */
function dedent(text: string): string {
  const lines = text.split("\n");
  const indent = Math.min(
    ...lines.filter((line) => line.trim() !== "").map((line) => /^ */.exec(line)![0].length),
  );
  return lines.map((line) => line.slice(indent)).join("\n");
}
