import { execFile } from "node:child_process";
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AppProcessError, planAppLaunch } from "../src/app/launch.ts";
import { type AppProcess, startAppProcess } from "../src/app/process.ts";
import { installAppFixture, workspacePackage } from "./dev-server-support.ts";

// Each fixture is laid out as one of Lenra's public templates (lenra.yml or Dockerfile,
// package.json, src/), with the real @lenra/app, and started through the real launcher.

let scratch: string;
const started: AppProcess[] = [];
const node = `Node.js ${process.version}`;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "devserver-app-runtimes-"));
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((app) => app.stop()));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function start(options: Parameters<typeof startAppProcess>[0]): Promise<AppProcess> {
  const app = await startAppProcess(options);
  started.push(app);
  return app;
}

async function post(url: string, body: unknown): Promise<unknown> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  return JSON.parse(await response.text());
}

/** The manifest's JSON route and what the `counter` view renders for one counter. */
async function expectServes(app: AppProcess, runtime: "node" | "bun"): Promise<void> {
  expect(await post(app.url, {})).toMatchObject({
    json: {
      routes: [
        {
          path: "/counter",
          view: { _type: "view", name: "counter", find: { coll: "counter", query: {} } },
          roles: ["guest", "user"],
        },
      ],
    },
  });
  const view = await post(app.url, {
    view: "counter",
    data: [{ _id: "c1", count: 41 }],
    props: {},
    context: {},
  });
  expect(view).toEqual({
    value: 41,
    runtime,
    onIncrement: { _type: "listener", name: "increment", props: { id: "c1" } },
  });
}

function failure(promise: Promise<unknown>): Promise<AppProcessError> {
  return promise.then(
    () => {
      throw new Error("expected the app not to start");
    },
    (error: unknown) => {
      expect(error).toBeInstanceOf(AppProcessError);
      return error as AppProcessError;
    },
  );
}

describe("each kind of public Lenra app runs as its image would", () => {
  it("a Bun app runs on the bun package, its own server on http_port", async () => {
    const dir = await installAppFixture(scratch, "bun-app");
    const app = await start({ dir });
    expect(app.launch.runtime).toBe("bun");
    expect(app.launch.description).toMatch(
      /^Bun \d+\.\d+\.\d+ running src\/; its lenra\.yml runs bun$/,
    );
    expect(app.output()).toContain("bun-app: listening");
    await expectServes(app, "bun");
    expect(await post(app.url, {})).toMatchObject({
      lenra: { routes: [{ path: "/" }, { path: "/settings" }] },
    });
  });

  it("a TypeScript app compiled by tsc runs dist/ as built, with no tsx anywhere", async () => {
    const dir = await installAppFixture(scratch, "compiled-ts-app", ["typescript", "@types/node"]);
    const notBuilt = await failure(startAppProcess({ dir, toolDirs: [] }));
    expect(notBuilt.reason).toBe("not_built");
    expect(notBuilt.message).toContain(
      `${dir} runs from dist/ (package.json: "app-lenra": { "dist": "dist" }), which has no manifest.js: the app is not built. Build it with "npm run build"`,
    );

    const tsc = join(workspacePackage("typescript"), "bin", "tsc");
    await promisify(execFile)(process.execPath, [tsc, "-p", dir]);
    // Its image holds dist/ only.
    await rm(join(dir, "src"), { recursive: true });
    const app = await start({ dir, toolDirs: [] });
    expect(app.launch.description).toBe(
      `${node} running dist/ as built; its lenra.yml runs "npm start", which runs app-lenra`,
    );
    await expectServes(app, "node");
  });

  it("a TypeScript app that is not built runs through its own tsx", async () => {
    const dir = await installAppFixture(scratch, "tsx-app", ["tsx"]);
    const app = await start({ dir, toolDirs: [] });
    expect(app.launch.description).toBe(
      `${node} with tsx running src/ (TypeScript, not built); its Dockerfile runs node`,
    );
    await expectServes(app, "node");
  });

  it("a JavaScript app runs on Node as it is", async () => {
    const dir = await installAppFixture(scratch, "js-app");
    const app = await start({ dir, toolDirs: [] });
    expect(app.launch.description).toBe(`${node} running src/; its lenra.yml runs node`);
    await expectServes(app, "node");
  });
});

describe("finding the runtime", () => {
  let lastDir = "";

  it("names the runtime and what to install when bun is nowhere", async () => {
    const dir = await installAppFixture(scratch, "bun-app");
    const empty = join(scratch, "empty-path");
    await mkdir(empty, { recursive: true });
    const error = await failure(startAppProcess({ dir, toolDirs: [], env: { PATH: empty } }));
    expect(error.reason).toBe("bun_missing");
    expect(error.message).toBe(
      `This app runs on Bun (its lenra.yml runs bun) and no bun was found (in ${dir}'s node_modules, the dev server's dependencies or PATH). Run "npm install --save-dev bun" in ${dir}.`,
    );
  });

  it("uses a bun found on PATH", async () => {
    const dir = await installAppFixture(scratch, "bun-app");
    const bin = join(scratch, "path-with-bun");
    await mkdir(bin, { recursive: true });
    await symlink(
      await realpath(join(workspacePackage("bun"), "bin", "bun.exe")),
      join(bin, "bun"),
    );
    const app = await start({ dir, toolDirs: [], env: { PATH: bin } });
    expect(app.launch.command).toBe(join(bin, "bun"));
    expect(app.launch.description).toBe("Bun (from PATH) running src/; its lenra.yml runs bun");
    await expectServes(app, "bun");
  });

  it("says when the bun package's install script did not run", async () => {
    const dir = await installAppFixture(scratch, "bun-app");
    // What npm unpacks before bun's postinstall puts the binary in place.
    await mkdir(join(dir, "node_modules", "bun", "bin"), { recursive: true });
    await writeFile(
      join(dir, "node_modules", "bun", "package.json"),
      JSON.stringify({ name: "bun", version: "1.4.5", bin: { bun: "bin/bun.exe" } }),
    );
    await writeFile(join(dir, "node_modules", "bun", "bin", "bun.exe"), "placeholder\n");
    const error = await failure(planAppLaunch(dir));
    expect(error.reason).toBe("bun_missing");
    expect(error.message).toContain("is the bun package's placeholder");
    expect(error.message).toContain('add "bun" to "pnpm.onlyBuiltDependencies"');
  });

  /** A JavaScript app with `files` beside its package.json, planned without starting it. */
  async function plan(files: Record<string, string>, packageJson: object = {}) {
    const dir = await installAppFixture(scratch, "js-app");
    lastDir = dir;
    await writeFile(join(dir, "lenra.yml"), "");
    await writeFile(
      join(dir, "package.json"),
      JSON.stringify({ name: "app", type: "module", ...packageJson }),
    );
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    return planAppLaunch(dir);
  }

  it("reads the image from lenra.yml, the files it names, or a Dockerfile", async () => {
    const dockerfile = await plan({
      Dockerfile: [
        "FROM --platform=linux/amd64 docker.io/oven/bun:1-alpine AS install",
        "COPY . .",
        'CMD ["bun", \\',
        '  "node_modules/@lenra/app/dist/bin/app-lenra.js", "start"]',
      ].join("\n"),
    });
    expect(dockerfile.runtime).toBe("bun");
    expect(dockerfile.description).toMatch(/; its Dockerfile runs bun$/);

    const dofigenFile = await plan({
      "lenra.yml": "generator:\n  dofigen: dofigen.yml\n",
      "dofigen.yml": "from: oven/bun:1\nadds: [.]\n",
    });
    expect(dofigenFile.runtime).toBe("bun");
    expect(dofigenFile.description).toMatch(/; its dofigen\.yml builds from oven\/bun$/);

    const inlineDockerfile = await plan({
      "lenra.yml": "generator:\n  docker: |\n    FROM node:20\n    CMD node app.js\n",
    });
    expect(inlineDockerfile.runtime).toBe("node");
    expect(inlineDockerfile.description).toBe(`${node} running src/; its lenra.yml runs node`);

    const npmStart = await plan(
      { Dockerfile: "FROM node:20\nCMD npm start\n" },
      { scripts: { start: "bun node_modules/@lenra/app/dist/bin/app-lenra.js start" } },
    );
    expect(npmStart.runtime).toBe("bun");
    expect(npmStart.description).toMatch(/; its Dockerfile runs "npm start", which runs bun$/);
  });

  it("falls back to the start script, then to Node", async () => {
    const startScript = await plan(
      {},
      { scripts: { start: "bun node_modules/@lenra/app/dist/bin/app-lenra.js start" } },
    );
    expect(startScript.runtime).toBe("bun");
    expect(startScript.description).toMatch(/; its package\.json start script runs bun$/);

    const plain = await plan(
      { "lenra.yml": "generator: {}\n" },
      { scripts: { start: "app-lenra" } },
    );
    expect(plain).toMatchObject({ runtime: "node", description: `${node} running src/` });
    expect(plain.command).toBe(process.execPath);
    expect(plain.args.slice(-2)).toEqual([
      join(lastDir, "node_modules", "@lenra", "app", "dist", "bin", "app-lenra.js"),
      "start",
    ]);
  });

  it("says when there is no manifest to start from", async () => {
    const dir = await installAppFixture(scratch, "js-app");
    await rm(join(dir, "src", "manifest.js"));
    const error = await failure(planAppLaunch(dir));
    expect(error.reason).toBe("manifest_missing");
    expect(error.message).toContain(`${dir} has no src/manifest.js (nor manifest.ts)`);
  });
});
