import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DevServerError, startDevServer } from "../src/index.ts";
import {
  counterAppDir,
  freePort,
  guest,
  installAppFixture,
  isAlive,
  occupyPort,
  open,
  socketEndpoint,
  testUser,
  until,
  upgradeStatus,
} from "./dev-server-support.ts";
import { waitFor } from "./helpers.ts";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "devserver-lifecycle-"));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe("--data persistence and stopping", () => {
  it("keeps the data and the users who joined across a restart, and stops the app", async () => {
    const file = join(scratch, ".devserver-data.json");
    const first = await startDevServer({
      app: counterAppDir,
      port: 0,
      authPort: 0,
      data: file,
      insecureTestTokens: true,
    });
    const pid = first.app.pid as number;
    expect(isAlive(pid)).toBe(true);
    const counter = await open(guest(first), "/counter/global");
    await counter.run(counter.code("onIncrement"));
    await counter.run(counter.code("onIncrement"));
    const mine = await open(testUser(first, "alice"), "/counter/me");
    await mine.run(mine.code("onIncrement"));
    await first.close();

    // Gone: the app's process, and the data is on disk.
    expect(isAlive(pid)).toBe(false);
    const saved = JSON.parse(await readFile(file, "utf8"));
    expect(saved.platform).toEqual({ knownUsers: ["alice"] });
    expect(saved.collections.counter).toEqual([
      { _id: expect.any(String), user: "global", count: 2 },
      { _id: expect.any(String), user: "alice", count: 1 },
    ]);

    const second = await startDevServer({
      app: counterAppDir,
      port: 0,
      authPort: 0,
      data: file,
      insecureTestTokens: true,
    });
    try {
      expect((await open(guest(second), "/counter/global")).document).toMatchObject({ value: 2 });
      // Alice is known: onUserFirstJoin does not run again, so her removed counter stays removed.
      const alices = second.store.find("counter", { query: { user: "alice" } });
      second.store.deleteDoc("counter", alices[0]?._id as string);
      expect((await open(testUser(second, "alice"), "/counter/me")).document).toMatchObject({
        value: 0,
      });
      expect(second.store.find("counter", { query: { user: "alice" } })).toEqual([]);
      // Bob is new: his counter is created.
      expect((await open(testUser(second, "bob"), "/counter/me")).document).toMatchObject({
        value: 0,
      });
      expect(second.store.find("counter", { query: { user: "bob" } })).toHaveLength(1);

      // An app that dies gives errors, never a dead server.
      const watcher = await open(guest(second), "/counter/global");
      process.kill(second.app.pid as number, "SIGKILL");
      await waitFor(() => !isAlive(second.app.pid as number));
      const reply = await watcher.run(watcher.code("onIncrement"));
      expect(reply).toMatchObject({
        status: "error",
        response: { error: { reason: "openfaas_not_reachable" } },
      });
      expect((reply.response as { error: { metadata: string } }).error.metadata).toContain(
        "cannot be reached",
      );
      // A new session needs onSessionStart, which cannot run: refused, as on Lenra.
      expect(await upgradeStatus(socketEndpoint(second.socketUrl))).toBe(403);
    } finally {
      await second.close();
    }
    expect(JSON.parse(await readFile(file, "utf8")).platform).toEqual({
      knownUsers: ["alice", "bob"],
    });
  });
});

describe("startup errors", () => {
  it("says the app directory is missing", async () => {
    const error = await startDevServer({
      app: join(scratch, "no-such-app"),
      port: 0,
      authPort: 0,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DevServerError);
    expect(error).toMatchObject({ reason: "app_not_found" });
    expect((error as Error).message).toContain("does not exist");
  });

  it("shows what an app that crashes at start printed", async () => {
    const dir = await installAppFixture(scratch, "crashing");
    const error = await startDevServer({ app: dir, port: 0, authPort: 0 }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ reason: "app_failed" });
    expect((error as Error).message).toContain("exited");
    expect((error as Error).message).toContain("boom at start: the manifest failed to load");
    expect((error as DevServerError).output).toContain("crashing-app: loading the manifest");
  });

  it("says which port is taken, before starting the app", async () => {
    const taken = await occupyPort();
    const began = Date.now();
    const error = await startDevServer({ app: counterAppDir, port: taken, authPort: 0 }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ reason: "port_in_use" });
    expect((error as Error).message).toContain(`Port ${taken} on 127.0.0.1 is already in use`);
    expect((error as Error).message).toContain("--port");
    expect(Date.now() - began).toBeLessThan(1_000);

    const authError = await startDevServer({ app: counterAppDir, port: 0, authPort: taken }).catch(
      (caught: unknown) => caught,
    );
    expect(authError).toMatchObject({ reason: "port_in_use" });
    expect((authError as Error).message).toContain("--auth-port");
  });

  it("says an app URL answers nothing", async () => {
    const port = await occupyPort();
    const error = await startDevServer({
      app: `http://127.0.0.1:${port}`,
      port: 0,
      authPort: 0,
      appTimeoutMs: 500,
    }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ reason: "app_unreachable" });
    expect((error as Error).message).toContain("did not answer its manifest");
  });
});

describe("stopping with a running app", () => {
  it("calls no listener when sessions end or the server stops: Lenra never calls onSessionStop or onEnvStop", async () => {
    // An app at a URL that records every listener it is asked to run.
    const called: string[] = [];
    const app = createServer(async (request, response) => {
      const body = JSON.parse(await readBody(request)) as Record<string, unknown>;
      let answer: unknown = { json: { routes: [{ path: "/", view: HOME, roles: ["guest"] }] } };
      if (typeof body.view === "string") answer = { hello: "world" };
      if (typeof body.listener === "string") {
        called.push(body.listener);
        answer = {};
      }
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
    });
    await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
    try {
      const server = await startDevServer({
        app: `http://127.0.0.1:${(app.address() as AddressInfo).port}`,
        port: 0,
        authPort: 0,
      });
      // Nothing runs before the first session: the environment starts with it.
      expect(called).toEqual([]);
      const socket = guest(server);
      const route = await open(socket, "/");
      expect(route.document).toEqual({ hello: "world" });
      await new Promise<void>((resolve) => socket.disconnect(() => resolve()));
      await waitFor(() => server.stats().sessions === 0);
      await server.close();
      expect(called).toEqual(["onEnvStart", "onSessionStart"]);
    } finally {
      app.closeAllConnections();
      await new Promise((resolve) => app.close(resolve));
    }
  });
});

const HOME = { _type: "view", name: "home" };

async function readBody(request: IncomingMessage): Promise<string> {
  let text = "";
  for await (const chunk of request) text += chunk;
  return text;
}

function runCli(args: string[]): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", ...args], {
    cwd: packageDir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  return { child, output: () => output, exited };
}

describe("the lenra-devserver CLI", () => {
  it("prints where to connect, ending with the front ends to open, and on SIGTERM stops with no process left", async () => {
    const file = join(scratch, "cli-data.json");
    // A front end that starts after the dev server: the banner waits for it.
    const frontEndPort = await freePort();
    const frontEnd = `http://127.0.0.1:${frontEndPort}`;
    const cli = runCli([
      ...["--app", counterAppDir, "--port", "0", "--auth-port", "0", "--data", file],
      ...["--client-id", "my-app", "--redirect-uri", "http://localhost:3000/callback.html"],
      ...["--redirect-uri", "http://127.0.0.1:3000/callback.html", "--front-end", frontEnd],
    ]);
    const site = createServer((_request, response) => response.end("page"));
    try {
      await waitFor(() => cli.output().includes("Press Ctrl+C to stop."), 30_000, "the banner");
      expect(cli.output()).not.toContain(frontEnd);
      await new Promise<void>((resolve) => site.listen(frontEndPort, "127.0.0.1", resolve));
      await waitFor(() => cli.output().includes(frontEnd), 30_000, "the front end's URL");
      const output = cli.output();
      expect(output).toMatch(
        /\nPress Ctrl\+C to stop\.\n\nOpen in a browser:\n {2}http:\/\/127\.0\.0\.1:\d+\n+$/,
      );
      expect(output).toContain(`  data:           ${file} (the logins too)\n`);
      const socketUrl = /socket: +(ws:\/\/\S+)/.exec(output)?.[1] as string;
      const pid = Number(/pid (\d+)/.exec(output)?.[1]);
      expect(output).toMatch(/OAuth issuer: +http:\/\/127\.0\.0\.1:\d+/);
      expect(output).toMatch(/client id: +my-app/);
      expect(output).toMatch(
        /redirect URIs: +http:\/\/localhost:3000\/callback\.html\n +http:\/\/127\.0\.0\.1:3000\/callback\.html\n/,
      );
      expect(isAlive(pid)).toBe(true);
      const route = await open(guest({ socketUrl }), "/counter/global");
      await route.run(route.code("onIncrement"));

      cli.child.kill("SIGTERM");
      expect(await cli.exited).toBe(0);
      expect(isAlive(pid)).toBe(false);
      const saved = JSON.parse(await readFile(file, "utf8"));
      expect(saved.collections.counter[0]).toMatchObject({ user: "global", count: 1 });
    } finally {
      cli.child.kill("SIGKILL");
      site.closeAllConnections();
      site.close();
    }
  });

  it("answers a call ok only once its writes are on disk: kill -9 right after loses none of them", async () => {
    const file = join(scratch, "durable-data.json");
    const args = ["--app", counterAppDir, "--port", "0", "--auth-port", "0", "--data", file];
    const started = async (cli: ReturnType<typeof runCli>) => {
      await waitFor(() => cli.output().includes("Press Ctrl+C to stop."), 30_000, "the banner");
      return {
        socketUrl: /socket: +(ws:\/\/\S+)/.exec(cli.output())?.[1] as string,
        appPid: Number(/pid (\d+)/.exec(cli.output())?.[1]),
      };
    };
    const first = runCli(args);
    let appPid: number | undefined;
    try {
      const { socketUrl, appPid: pid } = await started(first);
      appPid = pid;
      const socket = guest({ socketUrl });
      const route = await open(socket, "/counter/global");
      const code = route.code("onIncrement");
      // Twenty calls back to back; the dev server is killed the moment the fifth ok arrives,
      // well within the 100 ms a save used to wait for.
      let acknowledged = 0;
      const closed = new Promise<void>((resolve) => socket.onError(() => resolve()));
      for (let i = 0; i < 20; i++) {
        route.channel.push("run", { code }, 30_000).receive("ok", () => {
          acknowledged++;
          if (acknowledged === 5) first.child.kill("SIGKILL");
        });
      }
      await first.exited;
      // Replies already on their way when it died still count: each was sent after its save.
      await closed;
      expect(acknowledged).toBeGreaterThanOrEqual(5);
      const saved = JSON.parse(await readFile(file, "utf8"));
      expect(saved.collections.counter[0].count).toBeGreaterThanOrEqual(acknowledged);
      expect(saved.collections.counter[0].count).toBeLessThanOrEqual(20);
      // The app ends itself once its dev server is gone, and a new dev server has it all.
      await waitFor(() => !isAlive(pid), 10_000, "the orphaned app to stop");
      const second = runCli(args);
      try {
        const restarted = await started(second);
        const again = await open(guest(restarted), "/counter/global");
        expect((again.document as { value: number }).value).toBe(
          saved.collections.counter[0].count,
        );
        second.child.kill("SIGTERM");
        expect(await second.exited).toBe(0);
      } finally {
        second.child.kill("SIGKILL");
      }
    } finally {
      first.child.kill("SIGKILL");
      if (appPid !== undefined && isAlive(appPid)) process.kill(-appPid, "SIGKILL");
    }
  });

  it("runs a Bun app on the port --app-port gives, and lists the lenra routes it does not serve", async () => {
    const dir = await installAppFixture(scratch, "bun-app");
    const appPort = await freePort();
    const cli = runCli([
      ...["--app", dir, "--app-port", String(appPort), "--port", "0", "--auth-port", "0"],
    ]);
    try {
      await waitFor(() => cli.output().includes("Press Ctrl+C to stop."), 30_000, "the banner");
      const output = cli.output();
      expect(output).toMatch(new RegExp(`\n  app: +http://127\\.0\\.0\\.1:${appPort} \\(`));
      expect(output).toMatch(
        /\n {2}runtime: +Bun \d+\.\d+\.\d+ running src\/; its lenra\.yml runs bun\n/,
      );
      expect(output).toContain(
        "\n  not served:     lenra routes /, /settings (Lenra's UI components)\n",
      );
      const pid = Number(/pid (\d+)/.exec(output)?.[1]);
      const socketUrl = /socket: +(ws:\/\/\S+)/.exec(output)?.[1] as string;

      // The app's onEnvStart created the counter, its view renders it, its listener updates it
      // through the data API: all of it on Bun.
      const route = await open(guest({ socketUrl }), "/counter");
      expect(route.document).toMatchObject({ value: 0, runtime: "bun" });
      await route.run(route.code("onIncrement"));
      await until<{ value: number }>(route, (document) => document.value === 1);

      cli.child.kill("SIGTERM");
      expect(await cli.exited).toBe(0);
      expect(isAlive(pid)).toBe(false);
    } finally {
      cli.child.kill("SIGKILL");
    }
  });

  it("exits non-zero with a one-paragraph message when it cannot start", async () => {
    const cli = runCli(["--app", join(scratch, "missing"), "--port", "0", "--auth-port", "0"]);
    expect(await cli.exited).toBe(1);
    const output = cli.output().trim();
    expect(output).toMatch(/^lenra-devserver: The app directory .* does not exist/);
    expect(output.split("\n")).toHaveLength(1);
    expect(output).not.toMatch(/\n\s+at /);

    const usage = runCli([]);
    expect(await usage.exited).toBe(2);
    expect(usage.output()).toContain("--app is required");

    const appPortWithUrl = runCli(["--app", "http://127.0.0.1:3000", "--app-port", "3001"]);
    expect(await appPortWithUrl.exited).toBe(2);
    expect(appPortWithUrl.output()).toContain(
      "--app-port is for an app started from its directory; the URL of a running app already says its port.",
    );
  });
});
