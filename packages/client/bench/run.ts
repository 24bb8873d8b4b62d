/**
 * Runs the timed benchmarks on this package's code as it ships: bundled by tsdown (rolldown), as
 * `dist/` is, rather than through tsx, whose transform wraps every named function in a
 * `__name()` call (one `Object.defineProperty` per closure created) that published code does not
 * have. Dependencies stay external: the references load from node_modules as they are.
 *
 * `node --import tsx bench/run.ts [patch] [client]` runs the named benchmarks (default: both).
 * `LENRA_BENCH_QUICK=1` makes each a quick run.
 */
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const benches = ["patch", "client"];
const chosen = process.argv.length > 2 ? process.argv.slice(2) : benches;
const unknown = chosen.filter((name) => !benches.includes(name));
if (unknown.length > 0) {
  throw new TypeError(
    `Unknown benchmark ${unknown.join(", ")}: choose among ${benches.join(", ")}.`,
  );
}

// Inside the package, so the bundles resolve dependencies from its node_modules.
const outDir = here("../node_modules/.cache/lenra-bench");
rmSync(outDir, { recursive: true, force: true });
const { build } = await import("tsdown");
await build({
  config: false,
  cwd: here(".."),
  entry: Object.fromEntries(chosen.map((name) => [name, here(`./${name}.bench.ts`)])),
  format: "esm",
  platform: "node",
  target: "es2022",
  dts: false,
  outDir,
  logLevel: "warn",
  deps: { neverBundle: [/^[^./]/] },
});

for (const name of chosen) {
  const { status } = spawnSync(process.execPath, ["--expose-gc", `${outDir}/${name}.mjs`], {
    stdio: "inherit",
  });
  if (status !== 0) process.exit(status ?? 1);
  console.log();
}
