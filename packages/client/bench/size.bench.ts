/**
 * What `@lenra/client` adds to an app's bundle, minified and gzipped, dependencies included
 * (`phoenix`, `oauth4webapi`): a guest-only app (no `clientId`) and an app with login. The login
 * code (`oauth4webapi` and the flows) is a separate chunk loaded on first use, so it is reported
 * apart from what the page loads at start.
 *
 * Run with `pnpm bench` (not a timed test).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const source = resolve(fileURLToPath(new URL("../src/index.ts", import.meta.url)));

const apps = {
  "guest-only app": `
    import { createLenraClient } from ${JSON.stringify(source)};
    const client = createLenraClient({ appName: "counter" });
    client.view("/counter/global").subscribe(() => {});
  `,
  "app with login": `
    import { createLenraClient } from ${JSON.stringify(source)};
    const client = createLenraClient({ appName: "counter", clientId: "my-app" });
    client.view("/counter/global").subscribe(() => {});
    document.querySelector("button")?.addEventListener("click", () => client.auth.login());
  `,
};

interface BundleSize {
  /** The entry chunk and what it imports statically: loaded with the page. */
  initial: { minified: number; gzip: number };
  /** Chunks reached only through `import()`: loaded when used. */
  lazy: { minified: number; gzip: number };
}

/** Bundles one app entry with tsdown (rolldown), minified, and measures its chunks. */
async function bundleSize(code: string): Promise<BundleSize> {
  const { build } = await import("tsdown");
  const dir = mkdtempSync(join(tmpdir(), "lenra-client-size-"));
  try {
    const entry = join(dir, "app.ts");
    writeFileSync(entry, code);
    const outDir = join(dir, "out");
    await build({
      config: false,
      cwd: dir,
      entry: [entry],
      format: "esm",
      platform: "browser",
      target: "es2022",
      dts: false,
      minify: true,
      outDir,
      logLevel: "silent",
      // Bundle everything: the app ships the client and its dependencies.
      noExternal: () => true,
    });
    const size: BundleSize = { initial: { minified: 0, gzip: 0 }, lazy: { minified: 0, gzip: 0 } };
    for (const file of readdirSync(outDir).filter((name) => /\.m?js$/.test(name))) {
      const bytes = readFileSync(join(outDir, file));
      const part = file.startsWith("app.") ? size.initial : size.lazy;
      part.minified += bytes.length;
      part.gzip += gzipSync(bytes, { level: 9 }).length;
    }
    return size;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;
const rows: Record<string, Record<string, string>> = {};
for (const [name, code] of Object.entries(apps)) {
  const { initial, lazy } = await bundleSize(code);
  rows[name] = {
    "at start (min)": kb(initial.minified),
    "at start (min+gz)": kb(initial.gzip),
    "loaded by login() (min)": kb(lazy.minified),
    "loaded by login() (min+gz)": kb(lazy.gzip),
  };
}
console.log("@lenra/client in an app bundle (phoenix and oauth4webapi included)");
console.table(rows);
