import { type ChildProcess, spawn } from "node:child_process";
import { readFile, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { delimiter, dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { createLog, type DevServerLogger } from "./logger.ts";

/** Why an app could not be started. */
export const AppProcessErrorReason = {
  DirNotFound: "dir_not_found",
  NoPackageJson: "no_package_json",
  AppLenraMissing: "app_lenra_missing",
  TsxMissing: "tsx_missing",
  PortInUse: "port_in_use",
  Exited: "exited",
  Timeout: "timeout",
} as const;

export type AppProcessErrorReason =
  (typeof AppProcessErrorReason)[keyof typeof AppProcessErrorReason];

/** The app could not be started; `output` holds the end of what it printed, if it ran. */
export class AppProcessError extends Error {
  override name = "AppProcessError";
  readonly reason: AppProcessErrorReason;
  readonly output: string;

  constructor(reason: AppProcessErrorReason, message: string, output = "", options?: ErrorOptions) {
    super(output ? `${message}\n--- app output ---\n${output.trimEnd()}` : message, options);
    this.reason = reason;
    this.output = output;
  }
}

export interface AppProcessOptions {
  /** The app's directory: its package.json and node_modules with `@lenra/app` installed. */
  dir: string;
  /** The port the app listens on. Defaults to a free port. */
  port?: number | undefined;
  /** The interface the app listens on, passed as `HOST`. Defaults to 127.0.0.1. */
  host?: string | undefined;
  /** Extra environment variables for the app. */
  env?: Record<string, string | undefined> | undefined;
  logger?: DevServerLogger | undefined;
  /** Receives the app's output as it comes. */
  onOutput?: ((text: string, stream: "stdout" | "stderr") => void) | undefined;
  /** How long the app has to answer its manifest. Defaults to 30 s. */
  startTimeoutMs?: number | undefined;
  /** How long `stop()` waits after SIGTERM before SIGKILL. Defaults to 5 s. */
  stopGraceMs?: number | undefined;
  /** How much of the app's latest output is kept for error messages. Defaults to 64 KiB. */
  outputLimit?: number | undefined;
}

/** A running app. */
export interface AppProcess {
  /** Where the platform POSTs: `http://<host>:<port>`. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Resolves when the app's process has exited, for whatever reason. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The end of what the app printed (stdout and stderr interleaved). */
  output(): string;
  /**
   * Sends SIGTERM to the app's whole process group, SIGKILL after the grace period, and resolves
   * once the app is gone. Safe to call more than once.
   */
  stop(): Promise<void>;
  /** Sends `signal` to the app's process group at once, without waiting: for `exit` handlers. */
  kill(signal?: NodeJS.Signals): void;
}

const DEFAULT_HOST = "127.0.0.1";

/**
 * Starts a Lenra app directory with its own `node_modules/.bin/app-lenra start`, as the Lenra
 * platform runs an app (PROTOCOL.md §5), and resolves once it answers its manifest to `POST {}`.
 * TypeScript apps (`"app-lenra": { "indexer": "ts" }`) get the tsx loader from their own
 * dependencies. Throws {@link AppProcessError} saying what is missing and what to run.
 */
export async function startAppProcess(options: AppProcessOptions): Promise<AppProcess> {
  const log = createLog(options.logger);
  const dir = resolve(options.dir);
  const host = options.host ?? DEFAULT_HOST;
  const packageJson = await readAppPackage(dir);
  const bin = join(
    dir,
    "node_modules",
    ".bin",
    process.platform === "win32" ? "app-lenra.cmd" : "app-lenra",
  );
  if (!(await isFile(bin))) {
    throw new AppProcessError(
      AppProcessErrorReason.AppLenraMissing,
      `${dir} has no node_modules/.bin/app-lenra: @lenra/app is not installed. Run "npm install" in ${dir} (its package.json must depend on @lenra/app).`,
    );
  }
  const nodeOptions = [options.env?.NODE_OPTIONS ?? process.env.NODE_OPTIONS ?? ""];
  if (usesTypeScript(packageJson)) nodeOptions.push(`--import=${resolveTsx(dir)}`);
  // Lets the app end itself if this process dies without running any handler (SIGKILL).
  nodeOptions.push(`--import=${PARENT_WATCHDOG}`);

  const port = options.port ?? (await findFreePort(host));
  await assertPortFree(host, port);

  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  const env: Record<string, string | undefined> = {
    ...process.env,
    ...options.env,
    PORT: String(port),
    HOST: host,
    NODE_OPTIONS: nodeOptions.join(" ").trim(),
    // The .bin shim runs `node` from PATH: make that the Node running this dev server.
    PATH: [dirname(process.execPath), options.env?.PATH ?? process.env.PATH ?? ""].join(delimiter),
  };
  const child = spawn(bin, ["start"], {
    cwd: dir,
    env,
    // Its own process group, so stop() reaches everything the app starts.
    detached: process.platform !== "win32",
    stdio: ["ignore", "pipe", "pipe"],
    shell: process.platform === "win32",
    windowsHide: true,
  });
  const pid = child.pid;
  if (pid === undefined) {
    // spawn() reports the reason asynchronously.
    const error = await new Promise<Error>((done) => child.once("error", done));
    throw new AppProcessError(
      AppProcessErrorReason.Exited,
      `Cannot start ${bin}: ${error.message}`,
      "",
      { cause: error },
    );
  }
  log.info("Started the app", { dir, pid, port });

  const outputLimit = options.outputLimit ?? 64 * 1024;
  let output = "";
  const capture = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    output = (output + text).slice(-outputLimit);
    options.onOutput?.(text, stream);
  };
  child.stdout?.on("data", capture("stdout"));
  child.stderr?.on("data", capture("stderr"));

  let hasExited = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.once("exit", (code, signal) => {
      hasExited = true;
      // Whatever the app started and left behind goes with it.
      killGroup(child, "SIGKILL");
      log.info("The app exited", { pid, code, signal });
      done({ code, signal });
    });
  });
  child.once("error", (error) =>
    log.error("The app process failed", { pid, error: error.message }),
  );

  let stopping: Promise<void> | undefined;
  const app: AppProcess = {
    url,
    port,
    pid,
    exited,
    output: () => output,
    kill(signal = "SIGTERM") {
      if (!hasExited) killGroup(child, signal);
    },
    stop() {
      stopping ??= (async () => {
        if (hasExited) return;
        killGroup(child, "SIGTERM");
        const timer = setTimeout(() => {
          log.warn("The app ignored SIGTERM; killing it", { pid });
          killGroup(child, "SIGKILL");
        }, options.stopGraceMs ?? 5000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };

  const failure = await waitForManifest(url, exited, options.startTimeoutMs ?? 30_000);
  if (failure) {
    await app.stop();
    throw new AppProcessError(failure.reason, failure.message, output);
  }
  log.info("The app answers its manifest", { url });
  return app;
}

/** Something {@link installExitHooks} stops: an {@link AppProcess} fits. */
export interface Stoppable {
  stop(): Promise<void>;
  kill?(signal?: NodeJS.Signals): void;
}

/** The part of `process` the exit hooks use; tests pass a stand-in. */
export interface HookableProcess {
  readonly pid: number;
  on(event: string, listener: (...args: never[]) => void): unknown;
  off(event: string, listener: (...args: never[]) => void): unknown;
  listenerCount(event: string): number;
  kill(pid: number, signal?: string | number): unknown;
}

export interface ExitHooksOptions {
  /** Defaults to SIGINT, SIGTERM and SIGHUP. */
  signals?: NodeJS.Signals[];
  /** Defaults to the real `process`. */
  process?: HookableProcess;
  logger?: DevServerLogger | undefined;
}

/**
 * Stops `targets` when this process receives SIGINT, SIGTERM or SIGHUP, then lets the signal
 * end the process as it would have; on a plain `exit`, signals them at once (no waiting is
 * possible there). `targets` may be a function, read when the signal comes. Returns the function
 * that removes every hook.
 */
export function installExitHooks(
  targets: Iterable<Stoppable> | (() => Iterable<Stoppable>),
  options: ExitHooksOptions = {},
): () => void {
  const proc = options.process ?? process;
  const log = createLog(options.logger);
  const signals = options.signals ?? ["SIGINT", "SIGTERM", "SIGHUP"];
  const list = () => [...(typeof targets === "function" ? targets() : targets)];
  let installed = true;

  const onSignal = (signal: NodeJS.Signals) => {
    if (!installed) return;
    uninstall();
    log.info("Stopping the app before exiting", { signal });
    Promise.allSettled(list().map((target) => target.stop())).then(() => {
      // With no other handler left, the signal's default action ends the process as expected.
      if (proc.listenerCount(signal) === 0) proc.kill(proc.pid, signal);
    });
  };
  const onExit = () => {
    for (const target of list()) target.kill?.("SIGTERM");
  };
  for (const signal of signals) proc.on(signal, onSignal);
  proc.on("exit", onExit);

  function uninstall(): void {
    if (!installed) return;
    installed = false;
    for (const signal of signals) proc.off(signal, onSignal);
    proc.off("exit", onExit);
  }
  return uninstall;
}

/**
 * Preloaded into the app: when this dev server dies, the app is re-parented and its parent pid
 * changes, and it then ends its own process group. Written without spaces or quotes because
 * NODE_OPTIONS splits on them; 15 is SIGTERM.
 */
const PARENT_WATCHDOG =
  "data:text/javascript,(p=>setInterval(()=>{if(process.ppid!==p)process.kill(0,15)},500).unref())(process.ppid)";

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    if (process.platform === "win32") child.kill(signal);
    else process.kill(-child.pid, signal);
  } catch (error) {
    // ESRCH: the group is already gone, which is what we want.
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

async function readAppPackage(dir: string): Promise<Record<string, unknown>> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new AppProcessError(
      AppProcessErrorReason.DirNotFound,
      `The app directory ${dir} does not exist (or is not a directory). Pass the folder of a Lenra app, the one holding its package.json.`,
    );
  }
  let text: string;
  try {
    text = await readFile(join(dir, "package.json"), "utf8");
  } catch {
    throw new AppProcessError(
      AppProcessErrorReason.NoPackageJson,
      `${dir} has no package.json: it is not a Lenra app directory. Create one with "npm init" and "npm install @lenra/app", or pass the app's folder.`,
    );
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>;
    }
  } catch {}
  throw new AppProcessError(
    AppProcessErrorReason.NoPackageJson,
    `${join(dir, "package.json")} is not a valid JSON object.`,
  );
}

function usesTypeScript(packageJson: Record<string, unknown>): boolean {
  const conf = packageJson["app-lenra"];
  if (typeof conf !== "object" || conf === null) return false;
  const indexer = (conf as Record<string, unknown>).indexer;
  return indexer === "ts" || indexer === "typescript";
}

function resolveTsx(dir: string): string {
  try {
    return pathToFileURL(createRequire(join(dir, "package.json")).resolve("tsx")).href;
  } catch {
    throw new AppProcessError(
      AppProcessErrorReason.TsxMissing,
      `${dir} is a TypeScript app ("app-lenra": { "indexer": "ts" }) but tsx is not installed there. Run "npm install --save-dev tsx" in ${dir}.`,
    );
  }
}

async function isFile(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  return info?.isFile() ?? false;
}

function findFreePort(host: string): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

function assertPortFree(host: string, port: number): Promise<void> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => {
      fail(
        error.code === "EADDRINUSE"
          ? new AppProcessError(
              AppProcessErrorReason.PortInUse,
              `Port ${port} on ${host} is already in use. Choose another port, or stop what listens there.`,
            )
          : new AppProcessError(
              AppProcessErrorReason.PortInUse,
              `Cannot use port ${port} on ${host}: ${error.message}`,
            ),
      );
    });
    server.listen(port, host, () => server.close(() => done()));
  });
}

/** Polls `POST {}` with backoff until the app answers a manifest; returns why it did not. */
async function waitForManifest(
  url: string,
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  timeoutMs: number,
): Promise<{ reason: AppProcessErrorReason; message: string } | undefined> {
  const deadline = Date.now() + timeoutMs;
  let delay = 25;
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const wake = exited.then((result) => {
    exit = result;
  });
  for (;;) {
    if (exit) {
      const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
      return {
        reason: AppProcessErrorReason.Exited,
        message: `The app exited (${how}) before answering its manifest.`,
      };
    }
    if (await answersManifest(url, Math.min(2000, Math.max(1, deadline - Date.now())))) {
      return undefined;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      return {
        reason: AppProcessErrorReason.Timeout,
        message: `The app did not answer its manifest at ${url} within ${timeoutMs} ms.`,
      };
    }
    await Promise.race([wake, new Promise((done) => setTimeout(done, Math.min(delay, left)))]);
    delay = Math.min(delay * 2, 500);
  }
}

async function answersManifest(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) {
      await response.body?.cancel();
      return false;
    }
    const manifest: unknown = await response.json();
    return (
      typeof manifest === "object" &&
      manifest !== null &&
      ("json" in manifest || "lenra" in manifest)
    );
  } catch {
    return false;
  }
}
