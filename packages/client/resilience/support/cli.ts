import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** examples/counter-app: a global counter for guests, a personal one and todos for users. */
export const COUNTER_APP = fileURLToPath(
  new URL("../../../../examples/counter-app", import.meta.url),
);

/** The `lenra-devserver` command of the workspace's @lenra/devserver (built: `pnpm test:resilience` builds it first). */
function devserverBin(): string {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve("@lenra/devserver/package.json");
  const { bin } = require(manifest) as { bin: Record<string, string> };
  return join(dirname(manifest), bin["lenra-devserver"] ?? "");
}

export interface RunningCli {
  readonly process: ChildProcess;
  readonly socketUrl: string;
  readonly port: number;
  /** Everything it printed. */
  readonly output: string[];
  /** Resolves with the exit signal or code once the process ended. */
  readonly exited: Promise<NodeJS.Signals | number | null>;
}

/**
 * Starts the dev server's command line, as a developer runs it, and resolves once it says it
 * is ready. `port` 0 lets it pick one; give the same port again to restart it in place.
 */
export async function startCli(options: {
  app?: string;
  port: number;
  data: string;
}): Promise<RunningCli> {
  const child = spawn(
    process.execPath,
    [
      devserverBin(),
      "--app",
      options.app ?? COUNTER_APP,
      "--port",
      String(options.port),
      "--auth-port",
      "0",
      "--data",
      options.data,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const output: string[] = [];
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.once("exit", (code, signal) => resolve(signal ?? code)),
  );
  const socketUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`The dev server did not start:\n${output.join("")}`)),
      60_000,
    );
    const read = (chunk: Buffer) => {
      output.push(chunk.toString());
      const match = /socket:\s+(ws:\/\/\S+)/.exec(output.join(""));
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on("data", read);
    child.stderr?.on("data", read);
    void exited.then((how) => {
      clearTimeout(timer);
      reject(new Error(`The dev server exited (${how}) before it was ready:\n${output.join("")}`));
    });
  });
  return { process: child, socketUrl, port: Number(new URL(socketUrl).port), output, exited };
}

/** The pid of the app process the dev server started, from what it printed. */
export function appPid(cli: RunningCli): number | undefined {
  const match = /pid (\d+)\)/.exec(cli.output.join(""));
  return match?.[1] ? Number(match[1]) : undefined;
}

/** Whether a process is still alive. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
