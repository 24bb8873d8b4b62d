import { createLenraClient, type LenraClient, type LenraClientOptions } from "@lenra/client";
import { type ProtocolServer, startProtocolServer } from "@lenra/devserver/protocol";
import { createTestApp, listener, type TestApp } from "@lenra/devserver/testing";
import { WebSocket } from "ws";

export interface Item {
  id: string;
  title: string;
}

export interface State {
  count: number;
  items: Item[];
}

type ListenerJson = { _type: "listener"; code: string };

export interface CounterView {
  value: number;
  onIncrement: ListenerJson;
  onFail: ListenerJson;
}

export interface ListView {
  items: (Item & { onRename: ListenerJson })[];
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface Harness {
  app: TestApp<State>;
  server: ProtocolServer;
  client(options?: LenraClientOptions): LenraClient;
  /** Joins of `topic` the server accepted. */
  joins(topic: string): number;
  /** Joins of `topic` asked for, accepted or refused. */
  joinAttempts(topic: string): number;
  leaves(topic: string): number;
  close(): Promise<void>;
}

/** The app name test clients give: Lenra refuses a guest socket that names no app. */
export const TEST_APP_NAME = "test-app";

/**
 * A test app on a protocol server on a free port of 127.0.0.1, and clients of it over `ws`
 * (naming the app, {@link TEST_APP_NAME}, as a Lenra client does):
 * `/counter` (a counter with a listener that fails), `/list` (`items` titled "Item 0" to
 * "Item <items - 1>", each with a rename listener) and `/items/:id` (one item; for an unknown id
 * the view fails, so the join is refused, as on Lenra).
 */
export async function startHarness(items = 3): Promise<Harness> {
  const app = createTestApp<State>({
    state: {
      count: 0,
      items: Array.from({ length: items }, (_, i) => ({ id: `i${i}`, title: `Item ${i}` })),
    },
    routes: {
      "/counter": {
        roles: ["guest", "user"],
        view: (state) => ({
          value: state.count,
          onIncrement: listener("increment"),
          onFail: listener("fail"),
        }),
      },
      "/list": {
        roles: ["guest", "user"],
        view: (state) => ({
          items: state.items.map((item) => ({
            ...item,
            onRename: listener("rename", { id: item.id }),
          })),
        }),
      },
      "/items/:id": {
        roles: ["guest", "user"],
        view: (state, { pathParams }) => {
          const item = state.items.find((i) => i.id === pathParams.id);
          if (!item) throw new Error("no such item");
          return item;
        },
      },
    },
    listeners: {
      increment: (state) => {
        state.count += 1;
      },
      fail: () => {
        throw new Error("boom");
      },
      rename: (state, props, event) => {
        const item = state.items.find((i) => i.id === props?.id);
        if (item) item.title = String((event as { title?: unknown } | undefined)?.title);
      },
    },
  });
  const server = await startProtocolServer({ backend: app });
  const clients: LenraClient[] = [];
  return {
    app,
    server,
    client(options = {}) {
      const client = createLenraClient({
        appName: TEST_APP_NAME,
        socketEndpoint: server.socketUrl,
        transport: WebSocket,
        lingerMs: 100,
        ...options,
      });
      clients.push(client);
      return client;
    },
    joins: (topic) =>
      server.events.filter((e) => e.type === "join" && e.topic === topic && e.status === "ok")
        .length,
    joinAttempts: (topic) => server.count("join", topic),
    leaves: (topic) => server.count("leave", topic),
    async close() {
      await Promise.all(clients.map((client) => client.dispose()));
      await server.close();
    },
  };
}
