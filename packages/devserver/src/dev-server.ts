import type { IncomingMessage, ServerResponse } from "node:http";
import { resolve } from "node:path";
import { type AppClient, createAppClient } from "./app/client.ts";
import { AppProcessError, AppProcessErrorReason } from "./app/launch.ts";
import { type Manifest, ManifestError, parseManifest } from "./app/manifest.ts";
import { type AppProcess, startAppProcess } from "./app/process.ts";
import { type AuthEndpoints, DEFAULT_AUTH_PORT, startAuthServer } from "./auth/auth-server.ts";
import type { DevClientOptions, ResolvedDevClient } from "./auth/dev-clients.ts";
import { createDataApiHandler } from "./data/api.ts";
import { DataFileError } from "./data/errors.ts";
import { createDataStore, type DataStore } from "./data/store.ts";
import { HttpApp } from "./lenra/http-app.ts";
import { LenraPlatform } from "./lenra/platform.ts";
import { type ProtocolServer, startProtocolServer } from "./lenra/protocol-server.ts";
import { DevServerError } from "./shared/errors.ts";
import { createLog, type DevServerLogger, describeError, type Log } from "./shared/log.ts";
import { probePort } from "./shared/ports.ts";

/** The port Lenra's socket listens on in development (PROTOCOL.md §1). */
export const DEFAULT_DEV_SERVER_PORT = 4001;

/** Options of {@link startDevServer}. */
export interface DevServerOptions {
  /** The app: its directory (started as its Lenra image would), or the URL of a running app. */
  app: string;
  /**
   * The port an app started from a directory listens on (it gets `PORT` and `http_port`);
   * `0` picks a free one. Defaults to a free port.
   */
  appPort?: number | undefined;
  /** Port of the socket and the data API; `0` picks a free one. Defaults to 4001. */
  port?: number | undefined;
  /** Interface to listen on. Defaults to `127.0.0.1`. */
  host?: string | undefined;
  /** A JSON file the data (and the users who already joined) is loaded from and saved to. Defaults to memory only. */
  data?: string | undefined;
  /** Port of the OAuth server (always on loopback); `0` picks a free one. Defaults to 4444, Hydra's. */
  authPort?: number | undefined;
  /** The OAuth clients. Defaults to the `lenra-dev` client (see the auth server's README). */
  clients?: readonly DevClientOptions[] | undefined;
  /** Access token lifetime in seconds. Defaults to 3600. */
  accessTokenTtl?: number | undefined;
  /** Receives diagnostics (never tokens). Defaults to silence. */
  logger?: DevServerLogger | undefined;
  /** Receives what an app started from a directory prints. Defaults to nowhere. */
  onAppOutput?: ((text: string, stream: "stdout" | "stderr") => void) | undefined;
  /** How long one request to the app may take. Defaults to 30 000 ms. */
  appTimeoutMs?: number | undefined;
  /** How long an app started from a directory has to answer its manifest. Defaults to 30 000 ms. */
  appStartTimeoutMs?: number | undefined;
  /** How deep views may nest. Defaults to 16. */
  maxViewDepth?: number | undefined;
  /**
   * TEST ONLY, never in a real setup: accepts the socket token `user:<id>` (`insecureTestToken(id)`)
   * as the user `<id>` without any check, next to real OAuth tokens. Anyone can forge it.
   * Defaults to `false`; the CLI never sets it.
   */
  insecureTestTokens?: boolean | undefined;
}

/** A running dev server. */
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

export interface DevServerStats {
  sockets: number;
  sessions: number;
  openRoutes: number;
  renderGroups: number;
  viewRenders: number;
  sharedRenders: number;
  cachedViews: number;
  listenerCalls: number;
}

/** Why the dev server could not start. */
export const DevServerErrorReason = {
  /** The app directory does not exist or is not an app. */
  AppNotFound: "app_not_found",
  /** The app's dependencies (`@lenra/app`) or its runtime (`bun`, `tsx`) are not installed. */
  AppNotInstalled: "app_not_installed",
  /** The app runs from a build folder (`"app-lenra": { "dist" }`) that was not built. */
  AppNotBuilt: "app_not_built",
  /** The app exited or never answered its manifest; `output` holds what it printed. */
  AppFailed: "app_failed",
  /** Nothing answers a manifest at the app URL. */
  AppUnreachable: "app_unreachable",
  /** The app's manifest cannot be used. */
  InvalidManifest: "invalid_manifest",
  /** A port the dev server needs is taken. */
  PortInUse: "port_in_use",
  /** The data file exists but cannot be loaded. */
  InvalidDataFile: "invalid_data_file",
} as const;

export type DevServerErrorReason = (typeof DevServerErrorReason)[keyof typeof DevServerErrorReason];

/**
 * Starts a local Lenra around a `@lenra/app` app: the data store, the OAuth server, the app
 * itself (from a directory) or a running one (a URL), then the socket server with the data API
 * on the same port. The app's `onEnvStart` runs when the first session opens, as on Lenra.
 *
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

    let store: DataStore;
    try {
      store = await createDataStore({ file: settings.data, logger: options.logger });
    } catch (error) {
      if (error instanceof DataFileError) {
        throw new DevServerError(DevServerErrorReason.InvalidDataFile, error.message, {
          cause: error,
        });
      }
      throw error;
    }
    cleanups.push(() => store.close());

    const auth = await listenOrExplain(
      () =>
        startAuthServer({
          port: settings.authPort,
          host: settings.authHost,
          clients: options.clients,
          accessTokenTtl: options.accessTokenTtl,
          logger: options.logger,
        }),
      settings.authHost,
      settings.authPort,
      "authPort",
      "--auth-port",
    );
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
        const { sessions, openRoutes, renderGroups, listenerCalls } = backend.stats();
        const { sockets } = protocol.stats();
        return { sockets, sessions, openRoutes, renderGroups, listenerCalls, ...app.stats() };
      },
      close() {
        closing ??= (async () => {
          await protocol.closeSockets();
          await backend.close();
          await protocol.close();
          await appClient.close();
          await appProcess?.stop();
          await store.close();
          await auth.close();
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

/** Where the dev server reaches an app it started (an app may listen on more interfaces). */
const APP_HOST = "127.0.0.1";

interface Settings {
  appDir: string | undefined;
  appUrl: string | undefined;
  appPort: number;
  host: string;
  port: number;
  authHost: string;
  authPort: number;
  data: string | undefined;
}

function readOptions(options: DevServerOptions): Settings {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("startDevServer(options): `options` must be an object.");
  }
  if (typeof options.app !== "string" || options.app.trim() === "") {
    throw new TypeError(
      "startDevServer(options): `options.app` must be the app's directory or its URL.",
    );
  }
  const port = options.port ?? DEFAULT_DEV_SERVER_PORT;
  const authPort = options.authPort ?? DEFAULT_AUTH_PORT;
  const appPort = options.appPort ?? 0;
  for (const [name, value] of [
    ["port", port],
    ["authPort", authPort],
    ["appPort", appPort],
  ] as const) {
    if (!Number.isInteger(value) || value < 0 || value > 65_535) {
      throw new TypeError(
        `startDevServer(options): \`options.${name}\` must be a port number from 0 to 65535 (0 picks a free one).`,
      );
    }
  }
  const host = options.host ?? "127.0.0.1";
  if (typeof host !== "string" || host === "") {
    throw new TypeError("startDevServer(options): `options.host` must be a host name or address.");
  }
  if (options.data !== undefined && (typeof options.data !== "string" || options.data === "")) {
    throw new TypeError("startDevServer(options): `options.data` must be a file path.");
  }
  const isUrl = /^https?:\/\//i.test(options.app);
  if (isUrl && appPort !== 0) {
    throw new TypeError(
      "startDevServer(options): `options.appPort` is for an app started from its directory; the URL of a running app already says its port.",
    );
  }
  return {
    appDir: isUrl ? undefined : resolve(options.app),
    appUrl: isUrl ? options.app : undefined,
    appPort,
    host,
    port,
    // The OAuth server has no passwords: it stays on loopback whatever the socket listens on.
    authHost: /^(localhost|127(\.\d{1,3}){3}|::1)$/.test(host) ? host : "127.0.0.1",
    authPort,
    data: options.data === undefined ? undefined : resolve(options.data),
  };
}

async function startApp(
  dir: string,
  port: number,
  options: DevServerOptions,
  log: Log,
): Promise<AppProcess> {
  try {
    return await startAppProcess({
      dir,
      host: APP_HOST,
      port,
      logger: options.logger,
      onOutput: options.onAppOutput,
      startTimeoutMs: options.appStartTimeoutMs,
    });
  } catch (error) {
    if (!(error instanceof AppProcessError)) throw error;
    log.debug("the app did not start", { reason: error.reason });
    const reason = {
      [AppProcessErrorReason.DirNotFound]: DevServerErrorReason.AppNotFound,
      [AppProcessErrorReason.NoPackageJson]: DevServerErrorReason.AppNotFound,
      [AppProcessErrorReason.AppLenraMissing]: DevServerErrorReason.AppNotInstalled,
      [AppProcessErrorReason.ManifestMissing]: DevServerErrorReason.AppNotFound,
      [AppProcessErrorReason.NotBuilt]: DevServerErrorReason.AppNotBuilt,
      [AppProcessErrorReason.TsxMissing]: DevServerErrorReason.AppNotInstalled,
      [AppProcessErrorReason.BunMissing]: DevServerErrorReason.AppNotInstalled,
      [AppProcessErrorReason.PortInUse]: DevServerErrorReason.PortInUse,
      [AppProcessErrorReason.Exited]: DevServerErrorReason.AppFailed,
      [AppProcessErrorReason.Timeout]: DevServerErrorReason.AppFailed,
    }[error.reason];
    throw new DevServerError(reason, error.message, { cause: error, output: error.output });
  }
}

async function readManifest(app: AppClient, fromUrl: boolean): Promise<Manifest> {
  let answer: unknown;
  try {
    answer = await app.manifest();
  } catch (error) {
    const hint = fromUrl
      ? " Start the app first (npm start in its folder) or pass its directory instead of a URL."
      : "";
    throw new DevServerError(
      DevServerErrorReason.AppUnreachable,
      `The app at ${app.url} did not answer its manifest: ${describeError(error)}${hint}`,
      { cause: error },
    );
  }
  try {
    return parseManifest(answer);
  } catch (error) {
    if (!(error instanceof ManifestError)) throw error;
    throw new DevServerError(
      DevServerErrorReason.InvalidManifest,
      `The app's manifest cannot be used: ${error.message}`,
      { cause: error },
    );
  }
}

/** Fails early and clearly, before the app is started, when a port is taken. */
async function assertPortFree(
  host: string,
  port: number,
  option: string,
  flag: string,
): Promise<void> {
  if (port === 0) return;
  try {
    await probePort(host, port);
  } catch (error) {
    throw portError(error as NodeJS.ErrnoException, host, port, option, flag);
  }
}

async function listenOrExplain<T>(
  start: () => Promise<T>,
  host: string,
  port: number,
  option: string,
  flag: string,
): Promise<T> {
  try {
    return await start();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL") {
      throw portError(error as NodeJS.ErrnoException, host, port, option, flag);
    }
    throw error;
  }
}

function portError(
  error: NodeJS.ErrnoException,
  host: string,
  port: number,
  option: string,
  flag: string,
): Error {
  if (error.code === "EADDRINUSE") {
    return new DevServerError(
      DevServerErrorReason.PortInUse,
      `Port ${port} on ${host} is already in use (another dev server?). Stop what listens there, or choose another port with ${flag} (option \`${option}\`).`,
      { cause: error },
    );
  }
  return new DevServerError(
    DevServerErrorReason.PortInUse,
    `Cannot listen on ${host}:${port} (${error.code ?? error.message}). Choose another port with ${flag} (option \`${option}\`) or another host.`,
    { cause: error },
  );
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
