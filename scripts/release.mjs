#!/usr/bin/env node
// `pnpm release`: publishes the versions that `changeset version` wrote, to the registry npm is
// configured with for the @lenra scope (`npm config get @lenra:registry`, else `registry`).
//
// It refuses, before building anything, when
// - changesets are waiting to be versioned: publishing now would ship the previous versions;
// - a package's version is already on that registry but was not released from here (no git tag
//   `<name>@<version>`, which `changeset publish` creates): the number belongs to something else,
//   as 1.0.0-beta.3 belongs to the old @lenra/client;
// - there is nothing new to publish.
// Then it builds, type-checks and lints the packages (lint checks the tarballs with publint and
// attw) and runs `changeset publish`, which publishes the new versions and tags them.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

function capture(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout: stdout.trim(), stderr: stderr.trim() }));
  });
}

function run(command, args, env = process.env) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: "inherit", env });
    child.on("error", reject);
    child.on("close", (code) => resolve(code ?? 1));
  });
}

class Refusal extends Error {}

/** Changesets not versioned yet: files in .changeset/ that pre mode has not recorded as used. */
function pendingChangesets() {
  const dir = join(root, ".changeset");
  let used = [];
  try {
    used = JSON.parse(readFileSync(join(dir, "pre.json"), "utf8")).changesets;
  } catch (error) {
    if (error.code !== "ENOENT") throw error;
  }
  return readdirSync(dir)
    .filter((file) => file.endsWith(".md") && file !== "README.md")
    .map((file) => file.slice(0, -".md".length))
    .filter((id) => !used.includes(id));
}

/** The workspace's published packages: packages/* that are not private. */
function publicPackages() {
  return readdirSync(join(root, "packages"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) =>
      JSON.parse(readFileSync(join(root, "packages", entry.name, "package.json"), "utf8")),
    )
    .filter((manifest) => !manifest.private);
}

async function npmConfig(key) {
  const { code, stdout, stderr } = await capture("npm", ["config", "get", key]);
  if (code !== 0) throw new Error(`npm config get ${key} failed: ${stderr}`);
  return stdout === "undefined" || stdout === "" ? undefined : stdout;
}

/** Whether `name@version` is on `registry` (an unknown package is not an error: it is new). */
async function isPublished(name, version, scope, registry) {
  const { code, stdout, stderr } = await capture("npm", [
    "view",
    `${name}@${version}`,
    "version",
    "--json",
    `--${scope}:registry=${registry}`,
  ]);
  if (code === 0) return stdout !== "";
  if (/E404|404 Not Found/.test(stderr)) return false;
  throw new Error(`Could not ask ${registry} about ${name}@${version}:\n${stderr}`);
}

async function hasTag(tag) {
  const { code, stdout } = await capture("git", ["tag", "--list", tag]);
  return code === 0 && stdout === tag;
}

async function main() {
  const pending = pendingChangesets();
  if (pending.length > 0) {
    throw new Refusal(
      `${pending.length} changeset(s) are not versioned yet (${pending.join(", ")}). Run \`pnpm changeset version\`, review and commit the new versions and changelogs, then \`pnpm release\`.`,
    );
  }

  const packages = publicPackages();
  const scope = "@lenra";
  if (packages.some((manifest) => !manifest.name.startsWith(`${scope}/`))) {
    throw new Error(`Every published package must be in the ${scope} scope.`);
  }
  const registry = (await npmConfig(`${scope}:registry`)) ?? (await npmConfig("registry"));
  const toPublish = [];
  const foreign = [];
  for (const { name, version } of packages) {
    if (!(await isPublished(name, version, scope, registry))) toPublish.push(`${name}@${version}`);
    else if (!(await hasTag(`${name}@${version}`))) foreign.push(`${name}@${version}`);
    else console.log(`${name}@${version} is already released (git tag ${name}@${version}).`);
  }
  if (foreign.length > 0) {
    throw new Refusal(
      `${foreign.join(", ")} ${foreign.length > 1 ? "are" : "is"} already on ${registry}, and this repository never released ${foreign.length > 1 ? "them" : "it"} (no git tag of that name). Add a changeset and run \`pnpm changeset version\` to move to a new version.`,
    );
  }
  if (toPublish.length === 0) {
    throw new Refusal(
      `Nothing to release: every package's version is already on ${registry}. Add changesets and run \`pnpm changeset version\` first.`,
    );
  }
  console.log(`Releasing ${toPublish.join(", ")} to ${registry}`);

  if (
    (await run("pnpm", ["turbo", "run", "build", "typecheck", "lint", "--filter=./packages/*"])) !==
    0
  ) {
    throw new Refusal("The packages do not build or pass their checks: nothing was published.");
  }
  // changeset publish picks its registry from this variable, not from .npmrc: point it at the
  // registry checked above.
  const env = { ...process.env, [`npm_config_${scope}:registry`]: registry };
  if ((await run("pnpm", ["changeset", "publish"], env)) !== 0) {
    throw new Refusal("changeset publish failed: see its output above.");
  }
  console.log("Published. Push the release commit and its tags: git push --follow-tags");
}

main().catch((error) => {
  console.error(
    error instanceof Refusal ? `pnpm release: ${error.message}` : (error.stack ?? String(error)),
  );
  process.exitCode = 1;
});
