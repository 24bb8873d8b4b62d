/**
 * What a piece of code adds to an app, measured the way an app ships it: bundled with esbuild,
 * minified, split into the chunks loaded with the page and those loaded later by `import()`,
 * each chunk gzipped at level 9. Used by `test/size.test.ts` (the budgets) and
 * `bench/size.bench.ts` (the figures alone).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

/** 1 KB here is 1024 bytes. */
export const KB = 1024;

export interface ChunkSize {
  minified: number;
  gzip: number;
}

export interface BundleSize {
  /** The entry chunk and every chunk it imports statically: loaded with the page. */
  initial: ChunkSize;
  /** Chunks reached only through `import()`, together: loaded when used. */
  lazy: ChunkSize;
  /** Each lazy chunk, named by its file without the hash (`session`, `flows`). */
  chunks: Map<string, ChunkSize>;
}

const packages = fileURLToPath(new URL("../../../", import.meta.url));

/** The TypeScript source of a workspace package's module, such as `client/src/login.ts`. */
const path = (module: string) => join(packages, module);
const source = (module: string) => JSON.stringify(path(module));

/**
 * Bundles `code` (an app's entry module), or the module at `entry` as it is, and measures its
 * chunks.
 */
export async function bundleSize(
  app: { code: string } | { entry: string },
  options: { external?: string[] } = {},
): Promise<BundleSize> {
  const dir = mkdtempSync(join(tmpdir(), "lenra-size-"));
  try {
    let entry: string;
    if ("entry" in app) {
      entry = app.entry;
    } else {
      entry = join(dir, "app.ts");
      writeFileSync(entry, app.code);
    }
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      minify: true,
      splitting: true,
      format: "esm",
      platform: "browser",
      // What Vite 7 builds for by default (baseline-widely-available: Chrome and Edge 107, Firefox
      // 104, Safari 16) gives the same bytes: class fields and #private members stay as written.
      target: "es2022",
      outdir: join(dir, "out"),
      write: false,
      metafile: true,
      external: options.external,
      // Resolve dependencies (phoenix, oauth4webapi) from this package, as an app would.
      nodePaths: [fileURLToPath(new URL("../../node_modules", import.meta.url))],
      logLevel: "silent",
    });
    const outputs = result.metafile.outputs;
    // The app's own entry: chunks reached by `import()` are entry points of their own too.
    const name = basename(entry).replace(/\.ts$/, ".js");
    const initial = new Set(Object.keys(outputs).filter((path) => basename(path) === name));
    for (const path of initial) {
      for (const imported of outputs[path]?.imports ?? []) {
        if (imported.kind === "import-statement" && !imported.external) initial.add(imported.path);
      }
    }
    const initialFiles = new Set([...initial].map((path) => basename(path)));
    const size: BundleSize = {
      initial: { minified: 0, gzip: 0 },
      lazy: { minified: 0, gzip: 0 },
      chunks: new Map(),
    };
    for (const file of result.outputFiles) {
      const minified = file.contents.length;
      const gzip = gzipSync(file.contents, { level: 9 }).length;
      const initialFile = initialFiles.has(basename(file.path));
      const part = initialFile ? size.initial : size.lazy;
      part.minified += minified;
      part.gzip += gzip;
      if (!initialFile)
        size.chunks.set(basename(file.path).replace(/-\w+\.js$/, ""), { minified, gzip });
    }
    return size;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The apps and adapters measured, each with what it bundles. */
export const SUBJECTS = {
  /** An app that never logs in: the client, phoenix, a view. */
  "guest-only app": () =>
    bundleSize({
      code: `
      import { createLenraClient } from ${source("client/src/index.ts")};
      const lenra = createLenraClient({ appName: "counter" });
      lenra.view("/counter/global").subscribe(() => {});
    `,
    }),
  /** The same app with a login button. */
  "app with login": () =>
    bundleSize({
      code: `
      import { createLenraClient } from ${source("client/src/index.ts")};
      import { lenraLogin } from ${source("client/src/login.ts")};
      const lenra = createLenraClient({ appName: "counter", login: lenraLogin({ clientId: "my-app" }) });
      lenra.view("/counter/global").subscribe(() => {});
      document.querySelector("button")?.addEventListener("click", () => lenra.auth.login());
    `,
    }),
  /** Everything @lenra/react exports, without React and the core. */
  "@lenra/react alone": () =>
    bundleSize(
      { entry: path("react/src/index.ts") },
      { external: ["react", "react-dom", "@lenra/client", "@lenra/client/*"] },
    ),
  /** Everything @lenra/vue exports, without Vue and the core. */
  "@lenra/vue alone": () =>
    bundleSize(
      { entry: path("vue/src/index.ts") },
      { external: ["vue", "@lenra/client", "@lenra/client/*"] },
    ),
  /** The official phoenix client alone, which the client is built on, for reference. */
  "phoenix alone (reference)": () =>
    bundleSize({
      code: `
      import { Socket } from "phoenix";
      new Socket("/socket").channel("route:/counter/global").join();
    `,
    }),
  /** The client this one replaces, with its login, for reference. */
  "@lenra/client@1.0.0-beta.3 (reference)": () =>
    bundleSize({
      code: `
      import { LenraApp } from ${JSON.stringify(createRequire(import.meta.url).resolve("@lenra/client-beta"))};
      const app = new LenraApp({ appName: "counter", clientId: "my-app" });
      app.connect().then(() => app.route("/counter/global", () => {}));
    `,
    }),
} satisfies Record<string, () => Promise<BundleSize>>;

export type Subject = keyof typeof SUBJECTS;

/** Measures every subject, one after the other (esbuild is fast; the machine is shared). */
export async function measureAll(): Promise<Map<Subject, BundleSize>> {
  const sizes = new Map<Subject, BundleSize>();
  for (const [name, measure] of Object.entries(SUBJECTS))
    sizes.set(name as Subject, await measure());
  return sizes;
}

/** The figures as a table for `console.table`: each lazy chunk on a row of its own. */
export function sizeTable(sizes: Map<Subject, BundleSize>) {
  const kb = (bytes: number) => (bytes ? `${(bytes / KB).toFixed(2)} KB` : "");
  const rows: [string, Record<string, string>][] = [];
  for (const [name, { initial, lazy, chunks }] of sizes) {
    rows.push([
      name,
      {
        "at load, min+gz": kb(initial.gzip),
        "lazy, min+gz": kb(lazy.gzip),
        "at load, min": kb(initial.minified),
        "lazy, min": kb(lazy.minified),
      },
    ]);
    for (const [chunk, size] of chunks) {
      rows.push([
        `  lazy chunk "${chunk}"`,
        { "lazy, min+gz": kb(size.gzip), "lazy, min": kb(size.minified) },
      ]);
    }
  }
  return Object.fromEntries(rows);
}
