import { resolve } from "node:path";
import type { AppClient } from "../app/client.ts";
import { AppProcessError, AppProcessErrorReason } from "../app/launch.ts";
import { type Manifest, ManifestError, parseManifest } from "../app/manifest.ts";
import { type AppProcess, startAppProcess } from "../app/process.ts";
import { DEFAULT_AUTH_PORT } from "../auth/auth-server.ts";
import type { DevClientOptions } from "../auth/dev-clients.ts";
import { DevServerError } from "../shared/errors.ts";
import { type DevServerLogger, describeError, type Log } from "../shared/log.ts";
import { probePort } from "../shared/ports.ts";

/**
 * What `startDevServer` is given and what can stop it: the options and their checks, the ports,
 * the app's start and its manifest, each failure a {@link DevServerError} whose `reason` says
 * which and whose message says what to do.
 */

/**
 * The port Lenra's socket listens on in development, and so the dev server's by default
 * (PROTOCOL.md §1).
 *
 * @example
 * ```ts
 * const socketEndpoint = `ws://localhost:${DEFAULT_DEV_SERVER_PORT}/socket`;
 * ```
 */
export const DEFAULT_DEV_SERVER_PORT = 4001;

/**
 * Options of {@link startDevServer}: the CLI's options, and what only code can give.
 *
 * @example
 * ```ts
 * const options: DevServerOptions = {
 *   app: "./my-app", // or the URL of a running app
 *   port: 0, // a free port, for tests
 *   authPort: 0,
 *   logger: console,
 *   onAppOutput: (text) => process.stdout.write(text),
 * };
 * ```
 */
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

/**
 * Why the dev server could not start: the `reason` of the {@link DevServerError} that
 * `startDevServer` rejects with.
 *
 * @example
 * ```ts
 * const server = await startDevServer({ app: "./my-app" }).catch((error) => {
 *   if (error.reason !== DevServerErrorReason.PortInUse) throw error;
 *   return startDevServer({ app: "./my-app", port: 0 });
 * });
 * ```
 */
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

/** Where the dev server reaches an app it started (an app may listen on more interfaces). */
export const APP_HOST = "127.0.0.1";

export interface Settings {
  appDir: string | undefined;
  appUrl: string | undefined;
  appPort: number;
  host: string;
  port: number;
  authHost: string;
  authPort: number;
  data: string | undefined;
}

export function readOptions(options: DevServerOptions): Settings {
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

export async function startApp(
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

export async function readManifest(app: AppClient, fromUrl: boolean): Promise<Manifest> {
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
export async function assertPortFree(
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

export async function listenOrExplain<T>(
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
