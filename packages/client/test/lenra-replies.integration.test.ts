import {
  type BackendSession,
  type LenraBackend,
  LenraBackendError,
  type ProtocolServer,
  startProtocolServer,
} from "@lenra/devserver/protocol";
import { createTestApp, listener } from "@lenra/devserver/testing";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import {
  createLenraClient,
  type LenraClient,
  LenraErrorCode,
  LenraJoinError,
  LenraListenerError,
  LenraRouteError,
  type Listener,
} from "../src/index.ts";
import { sleep, waitFor } from "./support/server.ts";

// Lenra's server wraps every app failure in its technical error 500 (PROTOCOL.md section 3):
// the message is the same for every failure and the app's own text is in `metadata`.
const APP_TEXT = "Cannot read properties of undefined (reading 'count')";

function lenra500(metadata: unknown): LenraBackendError {
  // `metadata` is a string on Lenra, where the dev server's type says object: cast on purpose.
  return new LenraBackendError("error_500", "Internal server error.", {
    metadata: metadata as never,
  });
}

/** A backend that answers as Lenra's server does, around an in-process test app. */
function lenraLikeBackend(): LenraBackend {
  const app = createTestApp({
    state: { count: 0 },
    routes: {
      "/counter": {
        roles: ["guest", "user"],
        view: (state) => ({ value: state.count, onFail: listener("fail") }),
      },
    },
    listeners: {
      fail: () => {
        throw new Error(APP_TEXT);
      },
    },
  });
  return {
    authenticate: (request) => app.authenticate(request),
    async openSession(info) {
      const session = await app.openSession(info);
      const wrapped: BackendSession = {
        routes: () => session.routes(),
        close: () => session.close(),
        openRoute(path, sink) {
          if (path === "/broken") throw lenra500(APP_TEXT);
          if (path === "/broken-no-text") throw lenra500(undefined);
          return session.openRoute(path, sink);
        },
        async run(code, event, meta) {
          try {
            await session.run(code, event, meta);
          } catch (error) {
            if (error instanceof LenraBackendError) throw lenra500(error.message);
            throw error;
          }
        },
      };
      return wrapped;
    },
  };
}

let server: ProtocolServer | undefined;
const clients: LenraClient[] = [];

async function client(): Promise<LenraClient> {
  server ??= await startProtocolServer({ backend: lenraLikeBackend() });
  const created = createLenraClient({
    // Guests name the app, as Lenra requires (the backend's authenticate is the platform's).
    appName: "test-app",
    socketEndpoint: server.socketUrl,
    transport: WebSocket,
    lingerMs: 50,
  });
  clients.push(created);
  return created;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.disconnect()));
  await server?.close();
  server = undefined;
});

describe("Lenra's error_500 replies", () => {
  it("a failing listener rejects with the app's text, the raw reply kept", async () => {
    const view = (await client()).view<{ value: number; onFail: Listener }>("/counter");
    view.subscribe(() => {});
    const { data } = await waitFor(view, (s) => s.status === "success");
    const error = await data?.onFail().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LenraListenerError);
    const listenerError = error as LenraListenerError;
    expect(listenerError.message).toContain(APP_TEXT);
    expect(listenerError.message).not.toContain("Internal server error.");
    expect(listenerError).toMatchObject({
      code: LenraErrorCode.ListenerFailed,
      reason: "error_500",
    });
    expect(listenerError.response).toEqual({
      error: { message: "Internal server error.", reason: "error_500", metadata: APP_TEXT },
    });
    // Lenra also pushes the error on the route: the view shows the same text, keeps its data.
    const state = await waitFor(view, (s) => s.error !== undefined);
    expect(state.error).toBeInstanceOf(LenraRouteError);
    expect(state.error?.message).toContain(APP_TEXT);
    expect(state).toMatchObject({ status: "success", data: { value: 0 } });
  });

  it("a join refused because the view failed is an error the app can show, not a rejoin loop", async () => {
    const lenra = await client();
    const view = lenra.view("/broken");
    view.subscribe(() => {});
    const state = await waitFor(view, (s) => s.status === "error");
    expect(state.error).toBeInstanceOf(LenraJoinError);
    const joinError = state.error as LenraJoinError;
    expect(joinError.message).toContain(APP_TEXT);
    expect(joinError).toMatchObject({ reason: "error_500", metadata: APP_TEXT, route: "/broken" });
    expect(joinError.response).toEqual({
      message: "Internal server error.",
      reason: "error_500",
      metadata: APP_TEXT,
    });
    const joins = () =>
      server?.events.filter((e) => e.type === "join" && e.topic === "route:/broken").length;
    await sleep(2500);
    expect(joins()).toBe(1);

    // retry() joins again, once.
    view.retry();
    await server?.until(() => joins() === 2);
    await sleep(500);
    expect(joins()).toBe(2);
  });

  it("without the app's text the server's message is kept", async () => {
    const view = (await client()).view("/broken-no-text");
    view.subscribe(() => {});
    const state = await waitFor(view, (s) => s.status === "error");
    expect(state.error?.message).toContain("Internal server error.");
  });

  it("a route error event in Lenra's shape shows the app's text", async () => {
    const view = (await client()).view<{ value: number }>("/counter");
    view.subscribe(() => {});
    await waitFor(view, (s) => s.status === "success");
    const payload = { message: "Internal server error.", reason: "error_500", metadata: APP_TEXT };
    server?.push("route:/counter", "error", payload);
    const state = await waitFor(view, (s) => s.error !== undefined);
    expect(state.error).toBeInstanceOf(LenraRouteError);
    expect(state.error?.message).toContain(APP_TEXT);
    expect((state.error as LenraRouteError).response).toEqual(payload);
    expect((state.error as LenraRouteError).errors).toEqual([
      { message: APP_TEXT, reason: "error_500", metadata: APP_TEXT },
    ]);
  });
});
