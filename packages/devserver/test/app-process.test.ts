import { type ChildProcess, spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { mkdir, mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AppProcessError } from "../src/app/launch.ts";
import {
  type AppProcess,
  type HookableProcess,
  installExitHooks,
  startAppProcess,
} from "../src/app/process.ts";
import { freePort, installAppFixture } from "./dev-server-support.ts";

const counterApp = fileURLToPath(new URL("../../../examples/counter-app", import.meta.url));
const fixtures = fileURLToPath(new URL("./fixtures/app-process", import.meta.url));

let scratch: string;
const started: AppProcess[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "devserver-app-process-"));
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((app) => app.stop()));
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw error;
  }
}

async function waitUntil(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("Timed out");
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function post(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: response.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text,
  };
}

async function start(options: Parameters<typeof startAppProcess>[0]): Promise<AppProcess> {
  const app = await startAppProcess(options);
  started.push(app);
  return app;
}

describe("startAppProcess with the real counter-app", () => {
  it("starts the TypeScript app, answers its manifest and views, and is gone after stop", async () => {
    let printed = "";
    const app = await start({ dir: counterApp, onOutput: (text) => (printed += text) });
    expect(app.url).toBe(`http://127.0.0.1:${app.port}`);
    expect(isAlive(app.pid)).toBe(true);

    const manifest = await post(app.url, {});
    expect(manifest.status).toBe(200);
    const routes = (manifest.body as { json: { routes: { path: string; roles?: string[] }[] } })
      .json.routes;
    expect(routes.map((route) => [route.path, route.roles])).toEqual([
      ["/counter/global", ["guest", "user"]],
      ["/counter/me", undefined],
      ["/todos", ["user"]],
      ["/todos/:id", ["user"]],
    ]);

    const view = await post(app.url, {
      view: "counter",
      data: [{ _id: "c1", user: "global", count: 2 }],
      props: {},
      context: {},
    });
    expect(view.body).toEqual({
      value: 2,
      onIncrement: { _type: "listener", name: "increment", props: { id: "c1" } },
      onDecrement: { _type: "listener", name: "decrement", props: { id: "c1" } },
    });
    expect(app.output()).toContain("Server started");
    expect(printed).toContain("Server started");

    await app.stop();
    expect(isAlive(app.pid)).toBe(false);
    expect(() => process.kill(app.pid, 0)).toThrow(expect.objectContaining({ code: "ESRCH" }));
    await app.stop();
  });

  it("uses the port it is given", async () => {
    const port = await freePort();
    const app = await start({ dir: counterApp, port });
    expect(app.port).toBe(port);
    expect((await post(`http://127.0.0.1:${port}`, {})).status).toBe(200);
  });
});

describe("startAppProcess failures", () => {
  it("reports an app that crashes at start, with its output, and leaves no process", async () => {
    const dir = await installAppFixture(scratch, "crashing");
    const error = await startAppProcess({ dir }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AppProcessError);
    const failure = error as AppProcessError;
    expect(failure.reason).toBe("exited");
    expect(failure.message).toContain("before answering its manifest");
    expect(failure.message).toContain("boom at start: the manifest failed to load");
    expect(failure.output).toContain("crashing-app: loading the manifest");
  });

  it("kills an app that never answers once the start timeout passes, even if it ignores SIGTERM", async () => {
    const dir = await installAppFixture(scratch, "hanging");
    let pid = 0;
    const began = Date.now();
    const error = await startAppProcess({
      dir,
      startTimeoutMs: 1500,
      stopGraceMs: 300,
      logger: {
        info: (message, details) => {
          if (message === "Started the app") pid = details?.pid as number;
        },
      },
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AppProcessError);
    expect((error as AppProcessError).reason).toBe("timeout");
    expect((error as AppProcessError).message).toContain("hanging-app: started, never ready");
    expect(Date.now() - began).toBeLessThan(10_000);
    expect(pid).toBeGreaterThan(0);
    expect(isAlive(pid)).toBe(false);
  });

  it("says what is missing: the directory, its package.json, @lenra/app, tsx", async () => {
    const missing = join(scratch, "does-not-exist");
    await expect(startAppProcess({ dir: missing })).rejects.toMatchObject({
      reason: "dir_not_found",
      message: expect.stringContaining(missing),
    });

    const empty = join(scratch, "empty");
    await mkdir(empty);
    await expect(startAppProcess({ dir: empty })).rejects.toMatchObject({
      reason: "no_package_json",
      message: expect.stringContaining("has no package.json"),
    });

    await writeFile(
      join(empty, "package.json"),
      JSON.stringify({ name: "x", "app-lenra": { indexer: "ts" } }),
    );
    await expect(startAppProcess({ dir: empty })).rejects.toMatchObject({
      reason: "app_lenra_missing",
      message: expect.stringContaining(`Run "npm install" in ${empty}`),
    });

    // TypeScript sources need tsx: a copy outside the repository, searching no other folder,
    // finds none.
    const noTsx = await installAppFixture(scratch, "tsx-app");
    await expect(startAppProcess({ dir: noTsx, toolDirs: [] })).rejects.toMatchObject({
      reason: "tsx_missing",
      message: expect.stringContaining("npm install --save-dev tsx"),
    });
  });

  it("refuses a port already in use with a clear error", async () => {
    const blocker = await listen();
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(startAppProcess({ dir: counterApp, port })).rejects.toMatchObject({
        reason: "port_in_use",
        message: `Port ${port} on 127.0.0.1 is already in use. Choose another port, or stop what listens there.`,
      });
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});

describe("no orphan app", () => {
  it("installExitHooks stops the apps on a signal, then re-raises it, and uninstalls cleanly", async () => {
    const fake = Object.assign(new EventEmitter(), {
      pid: 4242,
      killed: [] as [number, string | number | undefined][],
      kill(pid: number, signal?: string | number) {
        this.killed.push([pid, signal]);
      },
    });
    const stopped: string[] = [];
    const targets = [
      { stop: async () => void stopped.push("a") },
      { stop: async () => void stopped.push("b"), kill: () => stopped.push("b killed") },
    ];
    installExitHooks(targets, { process: fake as unknown as HookableProcess });
    expect(fake.listenerCount("SIGTERM")).toBe(1);
    fake.emit("SIGTERM", "SIGTERM");
    await waitUntil(() => fake.killed.length > 0);
    expect(stopped).toEqual(["a", "b"]);
    expect(fake.killed).toEqual([[4242, "SIGTERM"]]);
    // The hooks removed themselves so the re-raised signal takes its default action.
    expect(fake.eventNames()).toEqual([]);

    const uninstall = installExitHooks(() => targets, {
      process: fake as unknown as HookableProcess,
    });
    fake.emit("exit");
    expect(stopped).toContain("b killed");
    uninstall();
    uninstall();
    expect(fake.eventNames()).toEqual([]);

    const before = ["SIGINT", "SIGTERM", "SIGHUP", "exit"].map((event) =>
      process.listenerCount(event),
    );
    installExitHooks([])();
    expect(
      ["SIGINT", "SIGTERM", "SIGHUP", "exit"].map((event) => process.listenerCount(event)),
    ).toEqual(before);
  });

  async function startParent(
    hooks: boolean,
  ): Promise<{ parent: ChildProcess; pid: number; url: string }> {
    const tsx = pathToFileURL(
      await realpath(join(counterApp, "node_modules", "tsx", "dist", "loader.mjs")),
    ).href;
    const parent = spawn(
      process.execPath,
      [
        `--import=${tsx}`,
        join(fixtures, "parent.ts"),
        counterApp,
        ...(hooks ? [] : ["--no-hooks"]),
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    children.push(parent);
    const line = await new Promise<string>((resolve, reject) => {
      let text = "";
      parent.stdout?.on("data", (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes("\n")) resolve(text.split("\n")[0] as string);
      });
      parent.once("exit", (code) => reject(new Error(`parent exited with ${code}`)));
    });
    const { pid, url } = JSON.parse(line) as { pid: number; url: string };
    return { parent, pid, url };
  }

  it("stops the app when the process that started it gets SIGTERM", async () => {
    const { parent, pid, url } = await startParent(true);
    expect((await post(url, {})).status).toBe(200);
    const exit = new Promise<NodeJS.Signals | null>((resolve) =>
      parent.once("exit", (_code, signal) => resolve(signal)),
    );
    parent.kill("SIGTERM");
    // The parent ends by the signal it got, after the app is gone.
    expect(await exit).toBe("SIGTERM");
    expect(isAlive(pid)).toBe(false);
  });

  it("ends the app by itself when the process that started it is SIGKILLed", async () => {
    const { parent, pid } = await startParent(false);
    parent.kill("SIGKILL");
    await waitUntil(() => !isAlive(pid), 5000);
  });
});

function listen(): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}
