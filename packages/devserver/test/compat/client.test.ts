import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { sleep } from "../helpers.ts";
import { APP, type Compat, startCompat } from "./support.ts";

// What this suite uses of @lenra/client. Its own tests depend on @lenra/devserver, so a
// dependency back would be a cycle in the workspace graph: the client's source is loaded by its
// path, and typed here by hand (a static import would type-check it without the DOM types).
interface ClientError extends Error {
  readonly reason: string;
  readonly response: unknown;
}
interface ViewState {
  status: "pending" | "success" | "error";
  data?: Record<string, unknown>;
  error?: ClientError;
}
interface View {
  subscribe(listener: () => void): () => void;
  getSnapshot(): ViewState;
}
interface Client {
  view(path: string): View;
  disconnect(): Promise<void>;
}
interface ClientModule {
  createLenraClient(options: Record<string, unknown>): Client;
  LenraListenerError: new (...args: never[]) => ClientError;
  LenraJoinError: new (...args: never[]) => ClientError;
  LenraRouteError: new (...args: never[]) => ClientError;
}

const CLIENT_SOURCE = new URL("../../../client/src/index.ts", import.meta.url).href;

let compat: Compat;
let lenra: ClientModule;
const clients: Client[] = [];

beforeAll(async () => {
  lenra = (await import(/* @vite-ignore */ CLIENT_SOURCE)) as ClientModule;
  compat = await startCompat();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.disconnect()));
});

afterAll(() => compat?.close());

function client(): Client {
  const created = lenra.createLenraClient({
    appName: APP,
    socketEndpoint: compat.server.socketUrl,
    transport: WebSocket,
    lingerMs: 50,
  });
  clients.push(created);
  return created;
}

function until(view: View, predicate: (state: ViewState) => boolean): Promise<ViewState> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`timed out; last state ${JSON.stringify(view.getSnapshot())}`)),
      15_000,
    );
    const check = () => {
      const state = view.getSnapshot();
      if (!predicate(state)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(state);
    };
    const unsubscribe = view.subscribe(check);
    check();
  });
}

describe("@lenra/client on the dev server", () => {
  it("shows the app's own words for a failing listener, and for the error event Lenra pushes with it", async () => {
    const view = client().view("/listeners");
    const { data } = await until(view, (state) => state.status === "success");
    const call = data?.failing as () => Promise<void>;
    const error = await call().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(lenra.LenraListenerError);
    expect((error as ClientError).message).toContain("The app's own words");
    expect((error as ClientError).message).not.toContain("Internal server error.");
    expect((error as ClientError).response).toEqual({
      error: {
        message: "Internal server error.",
        reason: "error_500",
        metadata: "The app's own words",
        status_code: 500,
      },
    });
    const state = await until(view, (current) => current.error !== undefined);
    expect(state.error).toBeInstanceOf(lenra.LenraRouteError);
    expect(state.error?.message).toContain("The app's own words");
    expect(state.status).toBe("success");
  });

  it("gives a join refused because the view failed as an error to show, without joining again and again", async () => {
    const control = compat.server.store.createDoc("control", { failView: "Nothing to show" });
    try {
      const view = client().view("/failing");
      const state = await until(view, (current) => current.status === "error");
      expect(state.error).toBeInstanceOf(lenra.LenraJoinError);
      expect(state.error?.message).toContain("Nothing to show");
      expect(state.error?.reason).toBe("error_500");
      const renders = compat.server.stats().viewRenders;
      await sleep(1_500);
      expect(compat.server.stats().viewRenders).toBe(renders);
    } finally {
      compat.server.store.deleteDoc("control", control._id);
    }
  });
});
