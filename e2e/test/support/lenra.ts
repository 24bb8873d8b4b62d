import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type DevServer, type DevServerOptions, startDevServer } from "@lenra/devserver";
import { createDataStore, type DataStore } from "@lenra/devserver/testing";
import { type StaticServer, startStaticServer } from "./static-server.ts";

/**
 * The folder that holds react-counter, vue-counter and counter-app: this repository's examples/,
 * or `LENRA_EXAMPLES_DIR`, such as the copies installed from a registry by `pnpm test:release`.
 */
const examplesDir = process.env.LENRA_EXAMPLES_DIR
  ? resolve(process.env.LENRA_EXAMPLES_DIR)
  : fileURLToPath(new URL("../../../examples/", import.meta.url));

const run = promisify(execFile);

/** The OAuth client the e2e registers on the dev server for the served builds. */
export const E2E_CLIENT_ID = "lenra-e2e";

export interface Example {
  /** `react` or `vue`: used in test names and user names. */
  readonly name: string;
  /** The example's folder (a Vite app). */
  readonly dir: string;
}

export const EXAMPLES: readonly Example[] = [
  { name: "react", dir: join(examplesDir, "react-counter") },
  { name: "vue", dir: join(examplesDir, "vue-counter") },
];

export const counterAppDir = join(examplesDir, "counter-app");

/** The global counter's collection and filter in counter-app (class `Counter`, user "global"). */
const COUNTERS = "counter";
const GLOBAL = { user: "global" };

/**
 * Everything the browser talks to, on 127.0.0.1 only: one static server per example serving its
 * production build, and a dev server (socket, OAuth server, counter-app) that can be stopped and
 * started again on the same ports with the same data file.
 */
export class Harness {
  readonly #tmp: string;
  readonly #sites: Map<string, StaticServer>;
  readonly #options: DevServerOptions;
  #server: DevServer | undefined;
  /** Dev server and app diagnostics, printed when a test fails. */
  readonly log: string[] = [];

  private constructor(tmp: string, sites: Map<string, StaticServer>) {
    this.#tmp = tmp;
    this.#sites = sites;
    const record =
      (level: string) =>
      (message: string, details?: Record<string, unknown>): void => {
        this.#record(
          `[devserver ${level}] ${message}${details ? ` ${JSON.stringify(details)}` : ""}`,
        );
      };
    this.#options = {
      app: counterAppDir,
      port: 0,
      authPort: 0,
      data: join(tmp, "data.json"),
      // Set by start(), once the static servers have their ports.
      clients: [],
      logger: { info: record("info"), warn: record("warn"), error: record("error") },
      onAppOutput: (text, stream) => this.#record(`[app ${stream}] ${text.trimEnd()}`),
    };
  }

  /** Starts the static servers and the dev server, then builds every example against them. */
  static async start(examples: readonly Example[]): Promise<Harness> {
    const tmp = await mkdtemp(join(tmpdir(), "lenra-e2e-"));
    const sites = new Map<string, StaticServer>();
    const harness = new Harness(tmp, sites);
    try {
      for (const example of examples) {
        if (!existsSync(join(example.dir, "package.json"))) {
          throw new Error(`${example.dir} does not exist: the ${example.name} example is missing.`);
        }
        sites.set(example.name, await startStaticServer(harness.#outDir(example)));
      }
      // The OAuth client lists the static servers' origins, so they must exist first.
      harness.#options.clients = [
        {
          clientId: E2E_CLIENT_ID,
          redirectUris: [...sites.values()].map((site) => `${site.origin}/redirect.html`),
          postLogoutRedirectUris: [...sites.values()].map((site) => `${site.origin}/`),
        },
      ];
      await harness.startDevServer();
      for (const example of examples) await harness.#build(example);
      return harness;
    } catch (error) {
      await harness.close();
      throw error;
    }
  }

  /** The running dev server; throws while it is stopped. */
  get server(): DevServer {
    if (!this.#server) throw new Error("The dev server is stopped.");
    return this.#server;
  }

  get running(): boolean {
    return this.#server !== undefined;
  }

  /** Where an example's build is served: `http://127.0.0.1:<port>`. */
  origin(example: Example): string {
    const site = this.#sites.get(example.name);
    if (!site) throw new Error(`No server for the ${example.name} example.`);
    return site.origin;
  }

  /** The OAuth server's origin (the dev login page lives there). */
  get authOrigin(): string {
    return new URL(this.server.auth.url).origin;
  }

  /**
   * Starts the dev server: on free ports the first time, then on the ports it had, with the same
   * OAuth client and data file, so built pages reconnect to it as if nothing happened.
   */
  async startDevServer(): Promise<void> {
    if (this.#server) return;
    this.#server = await startDevServer(this.#options);
    this.#options.port = this.#server.port;
    this.#options.authPort = Number(new URL(this.#server.auth.url).port);
  }

  /** Stops the dev server (sockets, app, OAuth server); the data is saved to the data file. */
  async stopDevServer(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    await server?.close();
  }

  /** Stops the dev server and starts it again on the same ports with the same data. */
  async restartDevServer(): Promise<void> {
    await this.stopDevServer();
    await this.startDevServer();
  }

  /**
   * Changes the saved data while the dev server is stopped, through the dev server's own store
   * over the data file: what the restarted server will load.
   */
  async editStoppedData(edit: (store: DataStore) => void): Promise<void> {
    if (this.#server) throw new Error("Stop the dev server before editing its data file.");
    const store = await createDataStore({ file: this.#options.data });
    try {
      edit(store);
    } finally {
      await store.close();
    }
  }

  /**
   * Drops the OAuth server's saved state (keys, sessions, tokens) from the data file while the
   * dev server is stopped, as if it had run without `--data`: the restarted server knows no login.
   */
  async forgetLogins(): Promise<void> {
    if (this.#server) throw new Error("Stop the dev server before editing its data file.");
    const file = this.#options.data as string;
    const { auth, ...rest } = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
    if (auth === undefined) throw new Error(`${file} holds no logins to forget.`);
    await writeFile(file, JSON.stringify(rest));
  }

  /** The global counter's value in the running server's store. */
  globalCount(): number {
    return readGlobal(this.server.store);
  }

  /** A personal counter's value in the running server's store (`undefined` before it exists). */
  userCount(userId: string): number | undefined {
    const [counter] = this.server.store.find(COUNTERS, { query: { user: userId } });
    return counter?.count as number | undefined;
  }

  /** Adds `by` to the global counter from the server side, as another client's click would. */
  addToGlobal(by: number, store: DataStore = this.server.store): void {
    const { matchedCount } = store.updateMany(COUNTERS, GLOBAL, { $inc: { count: by } });
    if (matchedCount !== 1) throw new Error(`Expected one global counter, found ${matchedCount}.`);
  }

  async close(): Promise<void> {
    await this.stopDevServer().catch((error) => console.error("closing the dev server:", error));
    await Promise.all([...this.#sites.values()].map((site) => site.close()));
    await rm(this.#tmp, { recursive: true, force: true });
  }

  #outDir(example: Example): string {
    return join(this.#tmp, `dist-${example.name}`);
  }

  /**
   * The example's own `npm run build` (its Vite, its plugins, the @lenra packages it installed)
   * with the env pointing at this dev server.
   */
  async #build(example: Example): Promise<void> {
    const outDir = this.#outDir(example);
    const env = {
      ...process.env,
      VITE_LENRA_SOCKET: this.server.socketUrl,
      VITE_LENRA_AUTH: this.server.auth.url,
      VITE_LENRA_CLIENT_ID: E2E_CLIENT_ID,
      // Vitest sets NODE_ENV=test, which would give a development build of React or Vue.
      NODE_ENV: "production",
    };
    const args = ["run", "build", "--", "--outDir", outDir, "--emptyOutDir", "--logLevel", "warn"];
    try {
      await run("npm", args, { cwd: example.dir, env, shell: process.platform === "win32" });
    } catch (error) {
      const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
      throw new Error(
        `Building the ${example.name} example (npm run build in ${example.dir}) failed:\n${stdout}${stderr}`,
        { cause: error },
      );
    }
    for (const page of ["index.html", "redirect.html"]) {
      if (!existsSync(join(outDir, page))) {
        throw new Error(
          `The ${example.name} example's build has no ${page} (the contract asks for /${page}).`,
        );
      }
    }
  }

  #record(line: string): void {
    this.log.push(`${new Date().toISOString().slice(11, 23)} ${line}`);
    if (this.log.length > 500) this.log.splice(0, this.log.length - 500);
  }
}

function readGlobal(store: DataStore): number {
  const counters = store.find(COUNTERS, { query: GLOBAL });
  if (counters.length !== 1)
    throw new Error(`Expected one global counter, found ${counters.length}.`);
  return counters[0]!.count as number;
}
