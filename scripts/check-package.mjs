#!/usr/bin/env node
// Checks the tarball that `pnpm publish` would upload for the package in the current directory
// (each package's `lint` runs it after its build): the tarball itself, not the folder, since pnpm
// rewrites the manifest on the way (workspace: ranges, .pnpmfile.cjs drops "@lenra/source").
//
// - publint --strict and @arethetypeswrong/cli (esm-only profile) on that tarball;
// - LICENSE is the repository's (pnpm adds the root LICENSE to a package that has none),
//   homepage, bugs and repository are set;
// - no TypeScript sources: the source maps carry them (sourcesContent), so src/ is not shipped;
// - no repo-only export condition, no workspace: range left, every bin file present.
// `attw --pack` would run `npm pack`, which knows neither pnpm's manifest rewriting nor the hook.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
const SOURCE_CONDITION = "@lenra/source";

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: "inherit", ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function filesUnder(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split("\\").join("/"));
}

/** What is wrong with an unpacked tarball (`dir` is its `package/` folder). */
function packageProblems(dir) {
  const problems = [];
  const files = filesUnder(dir);
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));

  const license = files.includes("LICENSE") ? readFileSync(join(dir, "LICENSE"), "utf8") : "";
  if (license !== readFileSync(join(REPO_ROOT, "LICENSE"), "utf8")) {
    problems.push(
      "LICENSE is missing or is not the repository's: delete the package's own LICENSE, pnpm then packs the root one.",
    );
  }
  for (const field of ["license", "homepage", "bugs", "repository"]) {
    if (!manifest[field]) problems.push(`package.json has no "${field}".`);
  }
  if (JSON.stringify([manifest.exports, manifest.imports]).includes(SOURCE_CONDITION)) {
    problems.push(
      `package.json "exports" still has the "${SOURCE_CONDITION}" condition (.pnpmfile.cjs removes it).`,
    );
  }
  for (const field of ["dependencies", "peerDependencies", "optionalDependencies"]) {
    for (const [name, range] of Object.entries(manifest[field] ?? {})) {
      if (String(range).startsWith("workspace:")) {
        problems.push(`${field}.${name} is "${range}": pack with pnpm, which replaces it.`);
      }
    }
  }
  const bins =
    typeof manifest.bin === "string" ? [manifest.bin] : Object.values(manifest.bin ?? {});
  for (const bin of bins) {
    if (!files.includes(bin.replace(/^\.\//, "")))
      problems.push(`bin ${bin} is not in the tarball.`);
  }
  const sources = files.filter(
    (file) => /\.(ts|tsx|mts|cts|vue)$/.test(file) && !/\.d\.[mc]?ts$/.test(file),
  );
  if (sources.length > 0) {
    problems.push(
      `sources are shipped (${sources.slice(0, 3).join(", ")}…): "files" must not list src.`,
    );
  }
  for (const file of files.filter((name) => name.endsWith(".map"))) {
    const map = JSON.parse(readFileSync(join(dir, file), "utf8"));
    const embedded = map.sourcesContent?.filter((content) => typeof content === "string").length;
    if (map.sources?.length > 0 && embedded !== map.sources.length) {
      problems.push(
        `${file} does not embed its sources (sourcesContent), and src/ is not shipped.`,
      );
    }
  }
  return problems;
}

function main() {
  const manifest = JSON.parse(readFileSync("package.json", "utf8"));
  const work = mkdtempSync(join(tmpdir(), "lenra-check-package-"));
  try {
    if (
      run("pnpm", ["pack", "--pack-destination", work], {
        stdio: ["ignore", "ignore", "inherit"],
      }) !== 0
    ) {
      return 1;
    }
    const tarball = readdirSync(work).find((name) => name.endsWith(".tgz"));
    if (!tarball) throw new Error(`pnpm pack left no tarball in ${work}.`);
    const tarballPath = join(work, tarball);
    if (run("tar", ["-xzf", tarballPath, "-C", work]) !== 0) return 1;
    const packageDir = join(work, "package");

    const problems = packageProblems(packageDir);
    const unpackedSize = filesUnder(packageDir).reduce(
      (total, file) => total + statSync(join(packageDir, file)).size,
      0,
    );
    console.log(
      `${manifest.name}: ${tarball}, ${kB(statSync(tarballPath).size)} packed, ${kB(unpackedSize)} unpacked, ${filesUnder(packageDir).length} files`,
    );
    let failed = problems.length > 0;
    for (const problem of problems) console.error(`  ${manifest.name}: ${problem}`);
    failed = run("pnpm", ["exec", "publint", "run", "--strict", tarballPath]) !== 0 || failed;
    failed =
      run("pnpm", [
        "exec",
        "attw",
        tarballPath,
        "--profile",
        "esm-only",
        "--format",
        "table-flipped",
      ]) !== 0 || failed;
    return failed ? 1 : 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function kB(bytes) {
  return `${(bytes / 1024).toFixed(1)} kB`;
}

process.exitCode = main();
