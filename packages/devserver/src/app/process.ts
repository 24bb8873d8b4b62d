import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { createLog, type DevServerLogger } from "../shared/log.ts";
import { probePort } from "../shared/ports.ts";
import { type AppLaunch, AppProcessError, AppProcessErrorReason, planAppLaunch } from "./launch.ts";

export interface AppProcessOptions {
  /** The app's directory: its package.json and node_modules with `@lenra/app` installed. */
  dir: string;
  /** The port the app listens on, passed as `PORT` and `http_port`. Defaults to a free port. */
  port?: number | undefined;
  /** The interface the app is reached on, passed as `HOST`. Defaults to 127.0.0.1. */
  host?: string | undefined;
  /**
   * Folders whose `node_modules` are searched for `bun` and `tsx` after the app's own (then
   * `PATH`, for bun). Defaults to the dev server's own folder.
   */
  toolDirs?: readonly string[] | undefined;
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
  /** How it was started: runtime, command, and why. */
  readonly launch: AppLaunch;
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
 * Starts a Lenra app directory as its Lenra image would (see {@link planAppLaunch}: Node or Bun,
 * tsx for TypeScript that is not built), with `PORT` and `http_port` set to its port, and
 * resolves once it answers its manifest to `POST {}` (PROTOCOL.md §5).
 * Throws {@link AppProcessError} saying what is missing and what to run.
 */
export async function startAppProcess(options: AppProcessOptions): Promise<AppProcess> {
  const log = createLog(options.logger);
  const dir = resolve(options.dir);
  const host = options.host ?? DEFAULT_HOST;
  const launch = await planAppLaunch(dir, {
    toolDirs: options.toolDirs,
    path: options.env?.PATH ?? process.env.PATH,
  });

  const port = options.port || (await probePort(host, 0));
  await assertPortFree(host, port);

  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  // On Lenra the app listens on its image's port, 3000 in every template: @lenra/app's server
  // reads it from PORT, the Bun templates' servers from http_port (OpenFaaS templates' name).
  const env = {
    ...process.env,
    ...options.env,
    PORT: String(port),
    http_port: String(port),
    HOST: host,
  };
  const child = spawn(launch.command, launch.args, {
    cwd: dir,
    env,
    // Its own process group, so stop() reaches everything the app starts.
    detached: process.platform !== "win32",
    stdio: ["ignore", "pipe", "pipe"],
    windowsHide: true,
  });
  const pid = child.pid;
  if (pid === undefined) {
    // spawn() reports the reason asynchronously.
    const error = await new Promise<Error>((done) => child.once("error", done));
    throw new AppProcessError(
      AppProcessErrorReason.Exited,
      `Cannot start ${launch.command}: ${error.message}`,
      "",
      { cause: error },
    );
  }
  log.info("Started the app", { dir, pid, port, runtime: launch.description });

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
    launch,
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

async function assertPortFree(host: string, port: number): Promise<void> {
  try {
    await probePort(host, port);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    throw new AppProcessError(
      AppProcessErrorReason.PortInUse,
      code === "EADDRINUSE"
        ? `Port ${port} on ${host} is already in use. Choose another port, or stop what listens there.`
        : `Cannot use port ${port} on ${host}: ${message}`,
      "",
      { cause: error },
    );
  }
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
