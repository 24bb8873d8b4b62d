#!/usr/bin/env node
// `pnpm test:release`: the release, proven on a registry of our own, as a user would meet it.
//
// 1. Copies the repository (tracked and new files, as they are in the working tree) to a
//    temporary folder, where `changeset version` and everything else runs: the working tree is
//    never changed.
// 2. Starts verdaccio on 127.0.0.1 (a free port, a throw-away storage) with no uplink for the
//    packages it publishes, so npm's old @lenra/client cannot leak in; other packages, such as
//    @lenra/app, are proxied from npm.
// 3. In the copy: `pnpm release` must refuse while changesets are pending, then `changeset
//    version`, and `pnpm release` publishes every package to verdaccio (build, typecheck,
//    publint, attw, then `changeset publish`); run again, it must refuse (nothing new), and refuse
//    a version that the registry holds but no git tag of the copy names.
// 4. Copies react-counter, vue-counter and counter-app into an empty folder, each with an .npmrc
//    that points @lenra at verdaccio, then `npm install`, `npm run build`, `npm run typecheck`.
// 5. Compiles a project that imports every entry point of the four packages with
//    `skipLibCheck: false`: their .d.ts files need nothing their dependencies and peers lack.
// 6. `npx lenra-devserver --help` from the registry in an empty folder.
// 7. `npm run dev` in each copied front end, inside a network namespace of its own (Linux): the
//    local Lenra and Vite start on their fixed ports, the page and its @lenra modules load.
// 8. The examples' browser tests (e2e/) against the copies (LENRA_EXAMPLES_DIR).
// It prints the tarball sizes and how long it took, and removes every process and folder it made,
// also when a step fails.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import {
  appendFile,
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const SCOPE = "@lenra";
const APP = "counter-app";
/** The front ends and the fixed port of their `npm run dev`. */
const FRONT_ENDS = [
  { name: "react-counter", port: 5173 },
  { name: "vue-counter", port: 5174 },
];
const COMMAND_TIMEOUT_MS = 20 * 60_000;
const GIT_USER = ["-c", "user.name=release-test", "-c", "user.email=release-test@localhost"];

/** The commands still running, each the leader of a process group. */
const running = new Set();

/**
 * The environment a user's shell would have: none of the npm_* variables that `pnpm run` sets, and
 * no node_modules/.bin of this repository on the PATH.
 */
function userEnv(extra = {}) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key)) env[key] = value;
  }
  env.PATH = (process.env.PATH ?? "")
    .split(delimiter)
    .filter((entry) => !entry.includes("node_modules/.bin") && !entry.startsWith(REPO))
    .join(delimiter);
  return { ...env, ...extra };
}

/**
 * Runs a command in its own process group, its output shown (and returned). Resolves with the
 * exit code; `check` (the default) turns a non-zero one into an error.
 */
function run(command, args, { cwd, env = userEnv(), check = true, quiet = false } = {}) {
  console.log(`$ ${[command, ...args].join(" ")}   (in ${cwd})`);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    running.add(child);
    let output = "";
    const onData = (chunk) => {
      output += chunk;
      if (!quiet) process.stdout.write(chunk);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    const timer = setTimeout(() => {
      output += `\n(killed after ${COMMAND_TIMEOUT_MS / 60_000} minutes)`;
      killGroup(child, "SIGKILL");
    }, COMMAND_TIMEOUT_MS);
    child.on("error", (error) => {
      clearTimeout(timer);
      running.delete(child);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      const status = code ?? 128;
      if (check && status !== 0) {
        if (quiet) process.stdout.write(output);
        reject(
          new Error(
            `${command} ${args.join(" ")} failed (${signal ?? `exit code ${status}`}) in ${cwd}`,
          ),
        );
      } else resolve({ code: status, output });
    });
  });
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {}
}

const delay = (ms, value) => new Promise((resolve) => setTimeout(() => resolve(value), ms));

function groupAlive(child) {
  try {
    process.kill(-child.pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Ends every command still running: SIGTERM to its whole group first, so that turbo, pnpm, vitest
 * and Playwright stop what they started in groups of their own, then SIGKILL after 15 s.
 */
async function stopCommands() {
  const groups = [...running];
  for (const child of groups) killGroup(child, "SIGTERM");
  const deadline = Date.now() + 15_000;
  while (groups.some(groupAlive) && Date.now() < deadline) await delay(200);
  for (const child of groups) killGroup(child, "SIGKILL");
}

/** Runs `pnpm release` in `cwd`, expecting a refusal whose message matches `expected`. */
async function expectRefusal(cwd, expected, why) {
  const { code, output } = await run("pnpm", ["release"], { cwd, check: false });
  if (code === 0 || !expected.test(output)) {
    throw new Error(
      `pnpm release should have refused (${why}) with a message matching ${expected}.`,
    );
  }
}

/** Tracked and new (not ignored) files of the working tree, relative to the repository. */
async function workingTreeFiles() {
  const args = ["ls-files", "-z", "--cached", "--others", "--exclude-standard"];
  const { output } = await run("git", args, { cwd: REPO, quiet: true });
  return output.split("\0").filter((file) => file && existsSync(join(REPO, file)));
}

async function copyFiles(files, from, to) {
  for (const file of files) {
    await mkdir(dirname(join(to, file)), { recursive: true });
    await cp(join(from, file), join(to, file));
  }
}

async function readJson(file) {
  return JSON.parse(await readFile(file, "utf8"));
}

/**
 * Starts verdaccio in this process on a free port of 127.0.0.1; resolves with its URL and a token
 * that may publish. `ours` (the packages this test publishes) get no uplink: npm's versions of
 * them, such as the old @lenra/client, must not leak in. Everything else, @lenra/app included,
 * is proxied from npm.
 */
async function startRegistry(dir, ours) {
  const config = join(dir, "config.yaml");
  await mkdir(dir, { recursive: true });
  await writeFile(
    config,
    [
      `storage: ${JSON.stringify(join(dir, "storage"))}`,
      "auth:",
      `  htpasswd: { file: ${JSON.stringify(join(dir, "htpasswd"))}, max_users: 1 }`,
      "uplinks:",
      "  npmjs: { url: https://registry.npmjs.org/ }",
      "packages:",
      ...ours.map((name) => `  "${name}": { access: $all, publish: $authenticated }`),
      '  "**": { access: $all, proxy: npmjs }',
      "web: { enable: false }",
      "log: { type: stdout, format: pretty, level: warn }",
      "",
    ].join("\n"),
  );
  const { default: verdaccio } = await import("verdaccio");
  const server = await verdaccio.runServer(config);
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const url = `http://127.0.0.1:${server.address().port}/`;
  const response = await fetch(`${url}-/user/org.couchdb.user:release-test`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "release-test", password: "release-test" }),
  });
  const { token } = await response.json();
  if (!response.ok || !token) {
    throw new Error(`verdaccio refused to create a user (${response.status}).`);
  }
  return {
    url,
    token,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}

/** The names and versions of the published packages of a copy of the repository. */
async function publicPackages(repo) {
  const packages = [];
  for (const dir of await readdir(join(repo, "packages"))) {
    const file = join(repo, "packages", dir, "package.json");
    if (!existsSync(file)) continue;
    const { name, version, private: isPrivate } = await readJson(file);
    if (!isPrivate) packages.push({ name, version });
  }
  return packages;
}

/** Every entry point of the installed packages `names`: `@lenra/client`, `@lenra/client/login`… */
async function entryPoints(projectDir, names) {
  const specifiers = [];
  for (const name of names) {
    const manifest = await readJson(join(projectDir, "node_modules", name, "package.json"));
    for (const subpath of Object.keys(manifest.exports ?? { ".": {} })) {
      if (subpath !== "./package.json" && !subpath.includes("*")) {
        specifiers.push(`${name}${subpath.slice(1)}`);
      }
    }
  }
  return specifiers;
}

/** A module that imports each of `specifiers` whole, and uses them. */
function importing(specifiers) {
  const lines = specifiers.map((specifier, index) => `import * as m${index} from "${specifier}";`);
  const used = specifiers.map((_, index) => `m${index}`).join(", ");
  return `${lines.join("\n")}\n\nexport const entryPoints = [${used}];\n`;
}

/**
 * A project that compiles every entry point of the published packages with `skipLibCheck: false`:
 * the browser packages with the DOM and no Node types, the dev server with Node's.
 */
async function checkTypes(dir, registry, published) {
  const react = await readJson(join(REPO, "examples/react-counter/package.json"));
  const vue = await readJson(join(REPO, "examples/vue-counter/package.json"));
  const root = await readJson(join(REPO, "package.json"));
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, ".npmrc"), `${SCOPE}:registry=${registry}\n`);
  const browserPackages = published
    .map((pkg) => pkg.name)
    .filter((name) => name !== `${SCOPE}/devserver`);
  await writeFile(
    join(dir, "package.json"),
    JSON.stringify(
      {
        name: "types-check",
        private: true,
        type: "module",
        dependencies: {
          ...Object.fromEntries(published.map((pkg) => [pkg.name, pkg.version])),
          react: react.dependencies.react,
          "@types/react": react.devDependencies["@types/react"],
          vue: vue.dependencies.vue,
          typescript: root.devDependencies.typescript,
          "@types/node": root.devDependencies["@types/node"],
        },
      },
      null,
      2,
    ),
  );
  await run("npm", ["install", "--no-audit", "--no-fund"], { cwd: dir });
  const strict = { strict: true, skipLibCheck: false, noEmit: true, target: "ES2022" };
  const browser = await entryPoints(dir, browserPackages);
  const node = await entryPoints(dir, [`${SCOPE}/devserver`]);
  await writeFile(join(dir, "browser.ts"), importing(browser));
  await writeFile(join(dir, "node.ts"), importing(node));
  await writeFile(
    join(dir, "tsconfig.browser.json"),
    JSON.stringify({
      compilerOptions: {
        ...strict,
        module: "ESNext",
        moduleResolution: "Bundler",
        lib: ["ES2022", "DOM", "DOM.Iterable"],
        types: [],
      },
      files: ["browser.ts"],
    }),
  );
  await writeFile(
    join(dir, "tsconfig.node.json"),
    JSON.stringify({
      compilerOptions: {
        ...strict,
        module: "NodeNext",
        moduleResolution: "NodeNext",
        lib: ["ES2022"],
        types: ["node"],
      },
      files: ["node.ts"],
    }),
  );
  for (const project of ["tsconfig.browser.json", "tsconfig.node.json"]) {
    await run(join(dir, "node_modules/.bin/tsc"), ["-p", project], { cwd: dir });
  }
  console.log(`Compiled with skipLibCheck: false: ${[...browser, ...node].join(", ")}.`);
}

/**
 * Installs a copied example from the registry, and checks that each of our packages it got is the
 * tarball the registry holds (the lockfile's integrity: `resolved` may be left out by npm config).
 */
async function installExample(dir, registry, published) {
  await writeFile(join(dir, ".npmrc"), `${SCOPE}:registry=${registry}\n`);
  await run("npm", ["install", "--no-audit", "--no-fund"], { cwd: dir });
  const lock = await readJson(join(dir, "package-lock.json"));
  for (const [path, entry] of Object.entries(lock.packages)) {
    const ours = published.find((pkg) => path.endsWith(`node_modules/${pkg.name}`));
    if (!ours) continue;
    const packument = await (await fetch(`${registry}${ours.name.replace("/", "%2f")}`)).json();
    const integrity = packument.versions?.[ours.version]?.dist?.integrity;
    if (entry.version !== ours.version || !integrity || entry.integrity !== integrity) {
      throw new Error(
        `${dir} installed ${ours.name}@${entry.version} (${entry.integrity}), not ${ours.version} from ${registry} (${integrity}).`,
      );
    }
  }
}

/** Whether commands can run in a network namespace of their own (for the fixed ports). */
async function canUseNetworkNamespace() {
  if (process.platform !== "linux") return false;
  const { code } = await run("unshare", ["--net", "--map-root-user", "true"], {
    cwd: REPO,
    check: false,
    quiet: true,
  }).catch(() => ({ code: 1 }));
  return code === 0;
}

/**
 * Inside a network namespace (see main): `npm run dev` in a front end, then the page, the module
 * that creates the client and the @lenra package it imports must load from Vite, and the local
 * Lenra's OAuth server must answer; Ctrl+C (SIGINT to the group) must stop it all.
 */
async function devSmoke(dir, port) {
  const child = spawn("npm", ["run", "dev"], {
    cwd: dir,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise((resolve) =>
    child.on("close", (code, signal) => resolve(signal ?? code)),
  );
  for (const stream of [child.stdout, child.stderr]) {
    stream.on("data", (chunk) => {
      output += chunk;
      process.stdout.write(chunk);
    });
  }
  // Stopped from outside (test:release cleaning up): npm run dev leads a group of its own.
  let stopping = false;
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, async () => {
      if (stopping) return;
      stopping = true;
      killGroup(child, "SIGTERM");
      if ((await Promise.race([exited, delay(10_000, "timeout")])) === "timeout") {
        killGroup(child, "SIGKILL");
      }
      process.exit(1);
    });
  }
  const web = `http://127.0.0.1:${port}`;
  const text = async (url) => {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return response.text();
  };
  const checks = async () => {
    const deadline = Date.now() + 180_000;
    // The banner ends with the page to open, once the page answers.
    while (!/Open in a browser:/.test(output) || !(await text(`${web}/`).catch(() => ""))) {
      if (child.exitCode !== null) throw new Error("npm run dev exited before it was ready.");
      if (Date.now() > deadline) throw new Error("npm run dev was not ready after 3 minutes.");
      await delay(500);
    }
    const opened = output.slice(output.indexOf("Open in a browser:"));
    if (
      !/^Open in a browser:\n\S* +http:\/\/127\.0\.0\.1:\d+\n/.test(opened) ||
      !opened.includes(web)
    ) {
      throw new Error(`The dev banner does not end with ${web}:\n${opened}`);
    }
    const page = await text(`${web}/`);
    if (!page.includes('id="app"')) throw new Error(`${web}/ is not the example's page.`);
    const discovery = JSON.parse(
      await text("http://127.0.0.1:4444/.well-known/openid-configuration"),
    );
    if (!discovery.issuer) throw new Error("The local Lenra's OAuth server has no issuer.");
    const module = await text(`${web}/src/lenra.ts`);
    const dependencies = [
      ...module.matchAll(/from\s+"(\/node_modules\/\.vite\/deps\/@lenra_[^"]+)"/g),
    ];
    if (dependencies.length === 0) {
      throw new Error(`${web}/src/lenra.ts imports no bundled @lenra package:\n${module}`);
    }
    const bundled = await Promise.all(dependencies.map(([, path]) => text(`${web}${path}`)));
    if (!bundled.some((code) => code.includes("createLenraClient"))) {
      throw new Error("The @lenra packages that src/lenra.ts imports have no createLenraClient.");
    }
    const names = dependencies.map(([, path]) => path.replace(/^.*\/|\?.*$/g, "")).join(", ");
    console.log(`npm run dev: ${web}/ and ${names} load, the OAuth server answers.`);
  };
  const failure = await checks().then(
    () => undefined,
    (error) => error,
  );
  // Ctrl+C: the terminal sends SIGINT to the whole process group.
  killGroup(child, "SIGINT");
  if ((await Promise.race([exited, delay(30_000, "timeout")])) === "timeout") {
    killGroup(child, "SIGKILL");
    throw failure ?? new Error("npm run dev did not stop within 30 s of Ctrl+C (SIGINT).");
  }
  if (failure) throw failure;
}

async function sizeTable(storage, published) {
  const rows = [];
  for (const { name, version } of published) {
    const file = join(storage, name, `${name.split("/")[1]}-${version}.tgz`);
    rows.push(
      `  ${`${name}@${version}`.padEnd(36)} ${((await stat(file)).size / 1024).toFixed(1).padStart(7)} kB`,
    );
  }
  return rows.join("\n");
}

async function main() {
  const started = Date.now();
  const tmp = await mkdtemp(join(tmpdir(), "lenra-release-test-"));
  let registry;
  let passed = 0;
  const step = async (title, body) => {
    const at = Date.now();
    console.log(`\n▶ ${title}`);
    await body();
    passed += 1;
    console.log(`✓ ${title} (${((Date.now() - at) / 1000).toFixed(0)} s)`);
  };
  const stop = async () => {
    await stopCommands();
    await registry?.close();
    await rm(tmp, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  };
  let interrupted = false;
  for (const signal of ["SIGINT", "SIGTERM"]) {
    // `on`, not `once`: a second Ctrl+C must not cut the clean-up short.
    process.on(signal, () => {
      if (interrupted) return;
      interrupted = true;
      console.error(`\n${signal}: stopping every command and removing ${tmp}`);
      stop()
        .catch((error) => console.error(error))
        .finally(() => process.exit(130));
    });
  }

  const repo = join(tmp, "repo");
  const examples = join(tmp, "examples");
  let files;
  let published;
  let sizes = "";
  try {
    await step("copy the repository", async () => {
      files = await workingTreeFiles();
      await copyFiles(files, REPO, repo);
      await run("git", ["init", "--quiet", "--initial-branch=main"], { cwd: repo });
      await run("git", ["add", "--all"], { cwd: repo });
      await run("git", [...GIT_USER, "commit", "--quiet", "-m", "snapshot"], { cwd: repo });
      const install = [
        "install",
        "--frozen-lockfile",
        "--prefer-offline",
        "--reporter=append-only",
      ];
      await run("pnpm", install, { cwd: repo, quiet: true });
    });

    await step("start a registry (verdaccio)", async () => {
      const ours = (await publicPackages(repo)).map((pkg) => pkg.name);
      registry = await startRegistry(join(tmp, "registry"), ours);
      const host = registry.url.replace(/^http:/, "");
      await appendFile(
        join(repo, ".npmrc"),
        `\n${SCOPE}:registry=${registry.url}\n${host}:_authToken=${registry.token}\n`,
      );
      console.log(`verdaccio at ${registry.url}`);
    });

    await step("version and publish every package", async () => {
      // With changesets pending, `pnpm release` must refuse; without (right after a
      // `changeset version`), it publishes the versions as they are.
      const attempt = await run("pnpm", ["release"], { cwd: repo, check: false });
      if (attempt.code !== 0) {
        if (!/not versioned yet/.test(attempt.output)) {
          throw new Error("pnpm release failed, and not because changesets are pending.");
        }
        await run("pnpm", ["changeset", "version"], { cwd: repo });
        await run("git", ["add", "--all"], { cwd: repo });
        await run("git", [...GIT_USER, "commit", "--quiet", "-m", "version"], { cwd: repo });
        await run("pnpm", ["release"], { cwd: repo });
      }
      published = await publicPackages(repo);
      for (const { name, version } of published) {
        const view = [
          "view",
          `${name}@${version}`,
          "version",
          `--${SCOPE}:registry=${registry.url}`,
        ];
        const { output } = await run("npm", view, { cwd: tmp, quiet: true });
        if (output.trim() !== version) {
          throw new Error(`${name}@${version} is not on the registry.`);
        }
      }
      await expectRefusal(repo, /Nothing to release/, "every version is published");
      const [untagged] = published;
      await run("git", ["tag", "--delete", `${untagged.name}@${untagged.version}`], { cwd: repo });
      await expectRefusal(repo, /never released/, "a version on the registry has no git tag");
      sizes = await sizeTable(join(tmp, "registry", "storage"), published);
      console.log(`Tarballs:\n${sizes}`);
    });

    await step("install, build and type-check the copied examples with npm", async () => {
      for (const name of [APP, ...FRONT_ENDS.map((front) => front.name)]) {
        const prefix = `examples/${name}/`;
        const own = files
          .filter((file) => file.startsWith(prefix))
          .map((file) => file.slice(prefix.length));
        await copyFiles(own, join(repo, prefix), join(examples, name));
        await installExample(join(examples, name), registry.url, published);
      }
      for (const { name } of FRONT_ENDS) {
        await run("npm", ["run", "build"], { cwd: join(examples, name) });
        await run("npm", ["run", "typecheck"], { cwd: join(examples, name) });
      }
    });

    await step("compile every entry point with skipLibCheck: false", async () => {
      await checkTypes(join(tmp, "types"), registry.url, published);
    });

    await step("npx lenra-devserver --help from the registry", async () => {
      const dir = join(tmp, "npx");
      await mkdir(dir);
      await writeFile(join(dir, ".npmrc"), `${SCOPE}:registry=${registry.url}\n`);
      const devserver = published.find((pkg) => pkg.name === `${SCOPE}/devserver`);
      // A cache of its own: npx would otherwise reuse an install of the same version from a
      // previous run instead of fetching it from this registry.
      const { output } = await run(
        "npx",
        [
          "--yes",
          "--package",
          `${devserver.name}@${devserver.version}`,
          "lenra-devserver",
          "--help",
        ],
        { cwd: dir, env: userEnv({ npm_config_cache: join(tmp, "npx-cache") }) },
      );
      if (!output.includes("Usage: lenra-devserver")) {
        throw new Error("lenra-devserver --help printed no usage.");
      }
    });

    await step("npm run dev in each copied front end", async () => {
      if (!(await canUseNetworkNamespace())) {
        console.log(
          "Skipped: npm run dev uses the fixed ports 4001, 4444, 5173 and 5174, so it runs only in a network namespace of its own (Linux with unshare).",
        );
        return;
      }
      for (const { name, port } of FRONT_ENDS) {
        await run(
          "unshare",
          [
            "--net",
            "--map-root-user",
            "sh",
            "-c",
            'ip link set lo up && exec "$@"',
            "sh",
            process.execPath,
            fileURLToPath(import.meta.url),
            "--dev-smoke",
            join(examples, name),
            String(port),
          ],
          { cwd: join(examples, name) },
        );
      }
    });

    await step("the examples' browser tests against the copies", async () => {
      await run("pnpm", ["--filter", "@lenra/e2e", "exec", "vitest", "run"], {
        cwd: REPO,
        env: userEnv({ LENRA_EXAMPLES_DIR: examples }),
      });
    });
  } catch (error) {
    console.error(`\n✗ ${error.stack ?? error}`);
    console.log(`\ntest:release: ${passed} passed, 1 failed`);
    process.exitCode = 1;
  } finally {
    await stop();
  }
  if (process.exitCode !== 1) {
    console.log(`\nTarballs on the registry:\n${sizes}`);
    console.log(`test:release took ${((Date.now() - started) / 1000).toFixed(0)} s`);
    console.log(`test:release: ${passed} passed, 0 failed`);
  }
}

if (process.argv[2] === "--dev-smoke") {
  devSmoke(process.argv[3], Number(process.argv[4])).catch((error) => {
    console.error(error.stack ?? String(error));
    process.exitCode = 1;
  });
} else {
  await main();
}
