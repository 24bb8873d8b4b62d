/**
 * A `@lenra/app`-like app in this process, behind the real platform, protocol server and data
 * API, as the dev server composes them: what the backend tests drive.
 */
import { type AppClient, AppRequestError, AppRequestErrorReason } from "../src/app/client.ts";
import { parseManifest } from "../src/app/manifest.ts";
import type { DataApiTokenInfo } from "../src/data/api.ts";
import { createDataApiHandler } from "../src/data/api.ts";
import { createDataStore, type DataStore } from "../src/data/store.ts";
import type { DevServerLogger } from "../src/index.ts";
import { HttpApp } from "../src/lenra/http-app.ts";
import { LenraPlatform, type PlatformStats } from "../src/lenra/platform.ts";
import { type ProtocolServer, startProtocolServer } from "../src/protocol.ts";
import { onCleanup } from "./helpers.ts";
export type View = (
  data: unknown[],
  props: Record<string, unknown>,
  context: Record<string, unknown>,
) => unknown;
export interface ListenerApi {
  userId: string | undefined;
  store: DataStore;
  /** The data API token the listener was given. */
  token: string;
}
export type Listener = (
  props: Record<string, unknown>,
  event: unknown,
  api: ListenerApi,
) => void | Promise<void>;

export interface FakeApp {
  routes: unknown[];
  views: Record<string, View>;
  /** Defaults to the system listeners Lenra calls, doing nothing. */
  listeners?: Record<string, Listener>;
  /** When set, every request fails as if the app were down. */
  down?: boolean;
}

/** The platform serving the app over HTTP, as the dev server composes them. */
export interface Backend {
  stats(): PlatformStats & ReturnType<HttpApp["stats"]>;
  resolveDataApiToken(token: string): DataApiTokenInfo | undefined;
}

export interface Harness {
  server: ProtocolServer;
  store: DataStore;
  backend: Backend;
  calls: { listener: string; userId: string | undefined; props: unknown; event: unknown }[];
  /** The views the app was asked to render, by name, in order. */
  renders: string[];
  /** Resolves once every render the changes so far asked for reached the sessions. */
  settled(): Promise<void>;
}

/** The socket params of a guest: Lenra refuses a guest that does not name the app. */
export const GUEST = { app: "fake" };

export const noop: Listener = () => {};

/** The system listeners Lenra calls, doing nothing: an app that lacks one is refused. */
export const SYSTEM_LISTENERS: Record<string, Listener> = {
  onEnvStart: noop,
  onUserFirstJoin: noop,
  onSessionStart: noop,
};

/** An app in this process behind the real backend, protocol server and data API. */
export async function start(
  app: FakeApp,
  logger?: DevServerLogger,
  dataFile?: string,
): Promise<Harness> {
  const store = await createDataStore({ file: dataFile });
  const calls: Harness["calls"] = [];
  const renders: string[] = [];
  let backend: Backend | undefined;
  const unreachable = () =>
    new AppRequestError(
      AppRequestErrorReason.Unreachable,
      "The app at fake cannot be reached (ECONNREFUSED). Is it running?",
    );
  const client: AppClient = {
    url: "http://fake.invalid/",
    async manifest() {
      return { json: { routes: app.routes } };
    },
    async view({ view, data, props, context }) {
      await Promise.resolve();
      if (app.down) throw unreachable();
      const render = app.views[view];
      if (!render)
        throw new AppRequestError(AppRequestErrorReason.Failed, `No view found for ${view}`, {
          status: 500,
        });
      renders.push(view);
      try {
        return JSON.parse(
          JSON.stringify(
            render(data, props as Record<string, unknown>, context as Record<string, unknown>),
          ),
        );
      } catch (error) {
        throw new AppRequestError(AppRequestErrorReason.Failed, (error as Error).message, {
          status: 500,
          body: (error as Error).message,
        });
      }
    },
    async listener({ listener, props, event, api }) {
      await Promise.resolve();
      if (app.down) throw unreachable();
      const run = (app.listeners ?? SYSTEM_LISTENERS)[listener];
      if (!run) {
        throw new AppRequestError(
          AppRequestErrorReason.Failed,
          `No listener found for ${listener}`,
          { status: 500 },
        );
      }
      const userId = backend?.resolveDataApiToken(api.token)?.userId;
      calls.push({ listener, userId, props, event });
      try {
        await run(props as Record<string, unknown>, event, { userId, store, token: api.token });
      } catch (error) {
        const { message, status } = error as Error & { status?: number };
        throw new AppRequestError(AppRequestErrorReason.Failed, message, {
          status: status ?? 500,
          body: message,
        });
      }
    },
    async close() {},
  };
  const httpApp = new HttpApp({
    client,
    manifest: parseManifest(await client.manifest()),
    store,
    maxViewDepth: 5,
    logger,
  });
  const platform = new LenraPlatform({ app: httpApp, store, insecureTestTokens: true, logger });
  backend = {
    stats: () => ({ ...platform.stats(), ...httpApp.stats() }),
    resolveDataApiToken: (token) => httpApp.resolveDataApiToken(token),
  };
  const dataApi = createDataApiHandler({
    store,
    resolveToken: (token) => httpApp.resolveDataApiToken(token),
  });
  const server = await startProtocolServer({
    backend: platform,
    requestHandler: (request, response) => {
      if (!dataApi(request, response)) response.writeHead(404).end();
    },
  });
  httpApp.start(server.url);
  onCleanup(async () => {
    await server.close();
    await platform.close();
    await store.close();
  });
  return { server, store, backend, calls, renders, settled: () => platform.settled() };
}
