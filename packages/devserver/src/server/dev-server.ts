import type { IncomingMessage, ServerResponse } from "node:http";
import { createAppClient } from "../app/client.ts";
import type { Manifest } from "../app/manifest.ts";
import type { AppProcess } from "../app/process.ts";
import { type AuthEndpoints, startAuthServer } from "../auth/auth-server.ts";
import type { ResolvedDevClient } from "../auth/dev-clients.ts";
import { createDataApiHandler } from "../data/api.ts";
import { DataFileError } from "../data/errors.ts";
import { createDataStore, type DataStore } from "../data/store.ts";
import { HttpApp } from "../lenra/http-app.ts";
import { LenraPlatform } from "../lenra/platform.ts";
import { type ProtocolServer, startProtocolServer } from "../lenra/protocol-server.ts";
import { DevServerError } from "../shared/errors.ts";
import { createLog, describeError } from "../shared/log.ts";
import {
  APP_HOST,
  assertPortFree,
  DevServerErrorReason,
  type DevServerOptions,
  listenOrExplain,
  readManifest,
  readOptions,
  startApp,
} from "./startup.ts";

/**
 * A running dev server.
 *
 * @example
 * ```ts
 * const server = await startDevServer({ app: "./my-app", port: 0, authPort: 0 });
 * createLenraClient({ appName: "my-app", socketEndpoint: server.socketUrl });
 * lenraLogin({ clientId: server.auth.clients[0].clientId, baseUri: server.auth.url });
 * await server.close();
 * ```
 */
export interface DevServer {
  /** `http://host:port`: the data API lives here, under `/app-api/v1/data`. */
  readonly url: string;
  /** What a Lenra client connects to: `ws://host:port/socket`. */
  readonly socketUrl: string;
  readonly port: number;
  /** The OAuth server a client logs in with. */
  readonly auth: {
    /** The issuer, also the base of every endpoint (Hydra's paths). */
    readonly url: string;
    readonly endpoints: AuthEndpoints;
    readonly clients: readonly ResolvedDevClient[];
  };
  /** The app the dev server serves. */
  readonly app: {
    readonly url: string;
    /** The app's process, when the dev server started it from a directory. */
    readonly pid: number | undefined;
    readonly dir: string | undefined;
    /** What runs it, when the dev server started it: `Bun 1.4.5 running src/; its lenra.yml runs bun`. */
    readonly runtime: string | undefined;
  };
  /** The app's data. */
  readonly store: DataStore;
  /** The app's JSON routes. */
  readonly manifest: Manifest;
  /** Counters: sockets, open routes, renders, listener calls. */
  stats(): DevServerStats;
  /**
   * Stops everything in order: sockets, the app (its whole process group), the data (saved),
   * the OAuth server. No listener runs: Lenra calls none when sessions or environments stop.
   * Resolves once every port is free.
   */
  close(): Promise<void>;
}

/**
 * What a running dev server counts, for tests and benchmarks.
 *
 * @example
 * ```ts
 * const { sockets, renderGroups, viewRenders } = server.stats();
 * ```
 */
export interface DevServerStats {
  sockets: number;
  sessions: number;
  openRoutes: number;
  renderGroups: number;
  viewRenders: number;
  sharedRenders: number;
  cachedViews: number;
  listenerCalls: number;
  /** Listener codes the sessions hold, over all sessions: what their routes show. */
  listenerCodes: number;
}

/**
 * Starts a local Lenra around a `@lenra/app` app: the data store, the OAuth server, the app
 * itself (from a directory) or a running one (a URL), then the socket server with the data API
 * on the same port. The app's `onEnvStart` runs when the first session opens, as on Lenra.
 * Rejects with a {@link DevServerError} whose `reason` is one of {@link DevServerErrorReason}
 * (a `TypeError` for options of the wrong type), having stopped what it had started.
 *
 * @example
 * ```ts
 * import { startDevServer } from "@lenra/devserver";
 *
 * const server = await startDevServer({ app: "./my-app", data: ".devserver-data.json" });
 * server.socketUrl; // "ws://127.0.0.1:4001/socket"
 * server.auth.url; // "http://127.0.0.1:4444", where users log in with any user name
 * process.on("SIGINT", () => server.close());
 * ```
 * @see PROTOCOL.md
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const settings = readOptions(options);
  const log = createLog(options.logger);
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanUp = async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        log.error("cleaning up after a failed start failed", { error: describeError(error) });
      }
    }
  };

  try {
    await assertPortFree(settings.host, settings.port, "port", "--port");
    await assertPortFree(settings.authHost, settings.authPort, "authPort", "--auth-port");
    await assertPortFree(APP_HOST, settings.appPort, "appPort", "--app-port");

    const store = await explainDataFile(() =>
      createDataStore({ file: settings.data, logger: options.logger }),
    );
    cleanups.push(() => store.close());

    const auth = await explainDataFile(() =>
      listenOrExplain(
        () =>
          startAuthServer({
            port: settings.authPort,
            host: settings.authHost,
            clients: options.clients,
            accessTokenTtl: options.accessTokenTtl,
            // With --data, logins outlive a restart: keys, grants and tokens go in the data file.
            persistence: store.section("auth"),
            logger: options.logger,
          }),
        settings.authHost,
        settings.authPort,
        "authPort",
        "--auth-port",
      ),
    );
    // Cleanups run in reverse: the auth server stops before the store writes the file.
    cleanups.push(() => auth.close());

    let appProcess: AppProcess | undefined;
    let appUrl: string;
    if (settings.appDir !== undefined) {
      appProcess = await startApp(settings.appDir, settings.appPort, options, log);
      cleanups.push(() => appProcess?.stop());
      appUrl = appProcess.url;
    } else {
      appUrl = settings.appUrl as string;
    }
    const appClient = createAppClient({ url: appUrl, timeoutMs: options.appTimeoutMs });
    cleanups.push(() => appClient.close());
    const manifest = await readManifest(appClient, appProcess === undefined);

    const app = new HttpApp({
      client: appClient,
      manifest,
      store,
      maxViewDepth: options.maxViewDepth,
      logger: options.logger,
    });
    const backend = new LenraPlatform({
      app,
      store,
      verifyAccessToken: (token) => auth.verifyAccessToken(token),
      insecureTestTokens: options.insecureTestTokens,
      logger: options.logger,
    });
    cleanups.push(() => backend.close());
    const dataApi = createDataApiHandler({
      store,
      resolveToken: (token) => app.resolveDataApiToken(token),
      logger: options.logger,
    });
    const protocol = await listenOrExplain(
      () =>
        startProtocolServer({
          backend,
          host: settings.host,
          port: settings.port,
          logger: options.logger,
          // The event log is a test control; a long one costs time on every push.
          eventLogLimit: 1_000,
          requestHandler: (request, response) => {
            if (!dataApi(request, response)) notFound(request, response);
          },
        }),
      settings.host,
      settings.port,
      "port",
      "--port",
    );
    cleanups.push(() => protocol.close());

    app.start(apiUrl(protocol, settings.host));

    let closing: Promise<void> | undefined;
    appProcess?.exited.then(({ code, signal }) => {
      if (closing) return;
      log.error(
        `The app exited (${signal ? `signal ${signal}` : `code ${code}`}); its views and listeners fail until the dev server is restarted.`,
        { pid: appProcess?.pid },
      );
    });
    log.info("dev server ready", { socketUrl: protocol.socketUrl, issuer: auth.issuer });

    return {
      url: protocol.url,
      socketUrl: protocol.socketUrl,
      port: protocol.port,
      auth: { url: auth.url, endpoints: auth.endpoints, clients: auth.clients },
      app: {
        url: appUrl,
        pid: appProcess?.pid,
        dir: settings.appDir,
        runtime: appProcess?.launch.description,
      },
      store,
      manifest,
      stats() {
        const { sessions, openRoutes, renderGroups, listenerCalls, listenerCodes } =
          backend.stats();
        const { sockets } = protocol.stats();
        return {
          sockets,
          sessions,
          openRoutes,
          renderGroups,
          listenerCalls,
          listenerCodes,
          ...app.stats(),
        };
      },
      close() {
        closing ??= (async () => {
          await protocol.closeSockets();
          await backend.close();
          await protocol.close();
          await appClient.close();
          await appProcess?.stop();
          // The auth server hands its last state to the store, which writes the file.
          await auth.close();
          await store.close();
          log.info("dev server stopped");
        })();
        return closing;
      },
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}

/** Turns a data file that cannot be loaded into the `invalid_data_file` startup error. */
async function explainDataFile<T>(start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    if (error instanceof DataFileError) {
      throw new DevServerError(DevServerErrorReason.InvalidDataFile, error.message, {
        cause: error,
      });
    }
    throw error;
  }
}

/** The URL the app's listeners call the data API at: loopback when listening on every interface. */
function apiUrl(protocol: ProtocolServer, host: string): string {
  if (host === "0.0.0.0") return `http://127.0.0.1:${protocol.port}`;
  if (host === "::" || host === "[::]") return `http://[::1]:${protocol.port}`;
  return protocol.url;
}

function notFound(_request: IncomingMessage, response: ServerResponse): void {
  response.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
  response.end(
    "Not found. This is a Lenra dev server: clients connect to /socket, apps call /app-api/v1/data.\n",
  );
}
