import { constants, existsSync } from "node:fs";
import { access, readFile, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parse as parseYaml } from "yaml";
import { DevServerError } from "../shared/errors.ts";

/** Why an app could not be started. */
export const AppProcessErrorReason = {
  DirNotFound: "dir_not_found",
  NoPackageJson: "no_package_json",
  AppLenraMissing: "app_lenra_missing",
  /** The app runs from a build folder (`"app-lenra": { "dist" }`) that was not built. */
  NotBuilt: "not_built",
  /** The folder `@lenra/app` loads the app from has no manifest. */
  ManifestMissing: "manifest_missing",
  TsxMissing: "tsx_missing",
  BunMissing: "bun_missing",
  PortInUse: "port_in_use",
  Exited: "exited",
  Timeout: "timeout",
} as const;

export type AppProcessErrorReason =
  (typeof AppProcessErrorReason)[keyof typeof AppProcessErrorReason];

/** The app could not be started; `output` holds the end of what it printed, if it ran. */
export class AppProcessError extends DevServerError<AppProcessErrorReason> {
  override name = "AppProcessError";

  constructor(reason: AppProcessErrorReason, message: string, output = "", options?: ErrorOptions) {
    super(reason, output ? `${message}\n--- app output ---\n${output.trimEnd()}` : message, {
      cause: options?.cause,
      output,
    });
  }
}

/** How an app directory is started: the command its Lenra image would run, here. */
export interface AppLaunch {
  /** The runtime the app's image runs it with. */
  readonly runtime: "node" | "bun";
  /** For people: what runs which folder, and why, e.g. `Bun 1.4.5 running src/; its lenra.yml runs bun`. */
  readonly description: string;
  /** The program to spawn in the app's directory. */
  readonly command: string;
  /** Its arguments: preloads, then `@lenra/app`'s `app-lenra` script and `start`. */
  readonly args: readonly string[];
}

export interface AppLaunchOptions {
  /**
   * Folders whose `node_modules` are searched for `bun` and `tsx` after the app's own.
   * Defaults to the dev server's own folder (its optional peers, a workspace's devDependencies).
   */
  toolDirs?: readonly string[] | undefined;
  /** The `PATH` searched for `bun` last. Defaults to this process's. */
  path?: string | undefined;
}

/**
 * The file that ends the app when the dev server dies without a chance to stop it (see the file).
 * Resolved when an app starts, not at import: a module imported by browser-like test
 * environments (happy-dom) has no file URL.
 */
const watchdogFile = () => fileURLToPath(new URL("./watchdog.js", import.meta.url));
const devServerDir = () => fileURLToPath(new URL(".", import.meta.url));
/** The npm `bun` package ships a small placeholder that its postinstall replaces by the binary. */
const BUN_PLACEHOLDER_MAX_BYTES = 1024 * 1024;

/**
 * Decides how to run the app in `dir` as its Lenra image would (PROTOCOL.md §5): `@lenra/app`'s
 * `app-lenra start`, with Bun when the image runs Bun (`lenra.yml`'s generator, a Dockerfile, or
 * the package.json start script say so), with Node otherwise; TypeScript sources that are not
 * built get tsx under Node; a built folder (`"app-lenra": { "dist": "dist" }`) runs as built.
 * Throws {@link AppProcessError} saying what is missing and what to run.
 */
export async function planAppLaunch(
  dir: string,
  options: AppLaunchOptions = {},
): Promise<AppLaunch> {
  const packageJson = await readAppPackage(dir);
  const image = await readImage(dir);
  const chosen = chooseRuntime(image, packageJson);
  const appLenra = await findAppLenra(dir);
  const code = await findCode(dir, packageJson);
  const toolDirs = [dir, ...(options.toolDirs ?? [devServerDir()])];
  const why = chosen.reason ? `; ${chosen.reason}` : "";

  if (chosen.runtime === "bun") {
    const bun = await findBun(toolDirs, options.path ?? process.env.PATH ?? "", chosen.reason, dir);
    return {
      runtime: "bun",
      description: `${bun.label} running ${code.folder}/${why}`,
      command: bun.path,
      args: ["--preload", watchdogFile(), appLenra, "start"],
    };
  }
  const preloads = [`--import=${pathToFileURL(watchdogFile()).href}`];
  let running = `running ${code.folder}/`;
  if (code.typescript) {
    preloads.push(`--import=${findTsx(toolDirs, dir, code.folder)}`);
    running = `with tsx running ${code.folder}/ (TypeScript, not built)`;
  } else if (code.built) {
    running = `running ${code.folder}/ as built`;
  }
  return {
    runtime: "node",
    description: `Node.js ${process.version} ${running}${why}`,
    command: process.execPath,
    args: [...preloads, appLenra, "start"],
  };
}

async function readAppPackage(dir: string): Promise<Record<string, unknown>> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new AppProcessError(
      AppProcessErrorReason.DirNotFound,
      `The app directory ${dir} does not exist (or is not a directory). Pass the folder of a Lenra app, the one holding its package.json.`,
    );
  }
  let text: string;
  try {
    text = await readFile(join(dir, "package.json"), "utf8");
  } catch {
    throw new AppProcessError(
      AppProcessErrorReason.NoPackageJson,
      `${dir} has no package.json: it is not a Lenra app directory. Create one with "npm init" and "npm install @lenra/app", or pass the app's folder.`,
    );
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (isRecord(parsed)) return parsed;
  } catch {}
  throw new AppProcessError(
    AppProcessErrorReason.NoPackageJson,
    `${join(dir, "package.json")} is not a valid JSON object.`,
  );
}

/** What the app's Lenra image says about how it runs. */
interface Image {
  /** The file that says it: `lenra.yml`, `Dockerfile`, or the file lenra.yml names. */
  readonly file: string;
  /** Every image it builds from (`FROM`, dofigen's `from` of the image and its builders). */
  readonly bases: readonly string[];
  /** Its command (`CMD`, `ENTRYPOINT`, dofigen's `cmd`), split in words. */
  readonly command: readonly string[];
}

/**
 * Reads the image description the Lenra CLI builds from: `lenra.yml`'s `generator` (a dofigen
 * description inline or in a file, or a Dockerfile), else a `Dockerfile` beside package.json.
 * Anything unreadable counts as absent: the dev server then falls back to package.json.
 */
async function readImage(dir: string): Promise<Image | undefined> {
  const config = await readText(join(dir, "lenra.yml"));
  if (config !== undefined) {
    const generator = field(parseYamlSafely(config), "generator");
    const dofigen = field(generator, "dofigen");
    if (isRecord(dofigen)) return fromDofigen(dofigen, "lenra.yml");
    if (typeof dofigen === "string") {
      const parsed = parseYamlSafely((await readText(join(dir, dofigen))) ?? "");
      return isRecord(parsed) ? fromDofigen(parsed, dofigen) : undefined;
    }
    const docker = field(generator, "docker");
    if (typeof docker === "string") {
      // The Lenra CLI takes a path to a Dockerfile here, or the Dockerfile's content itself.
      const text = await readText(join(dir, docker));
      return fromDockerfile(text ?? docker, text === undefined ? "lenra.yml" : docker);
    }
  }
  const dockerfile = await readText(join(dir, "Dockerfile"));
  return dockerfile === undefined ? undefined : fromDockerfile(dockerfile, "Dockerfile");
}

function fromDofigen(image: Record<string, unknown>, file: string): Image {
  const base = (stage: unknown) => field(stage, "from") ?? field(stage, "image");
  const builders = field(image, "builders");
  const bases = [base(image), ...(Array.isArray(builders) ? builders.map(base) : [])];
  const command = field(image, "cmd") ?? field(image, "entrypoint");
  return {
    file,
    bases: bases.filter((value): value is string => typeof value === "string"),
    command: Array.isArray(command) ? command.map(String) : words(command),
  };
}

function fromDockerfile(text: string, file: string): Image {
  const bases: string[] = [];
  let command: string[] = [];
  for (const line of text.replace(/\\\r?\n/g, " ").split(/\r?\n/)) {
    const [, instruction, rest = ""] = /^\s*(FROM|CMD|ENTRYPOINT)\s+(.*)$/i.exec(line) ?? [];
    if (!instruction) continue;
    if (instruction.toUpperCase() === "FROM") {
      const base = rest.split(/\s+/).find((word) => !word.startsWith("--"));
      if (base) bases.push(base);
    } else {
      command = execForm(rest) ?? words(rest);
    }
  }
  return { file, bases, command };
}

/** The exec form of CMD/ENTRYPOINT, `["bun", "x.js"]`, or undefined for the shell form. */
function execForm(text: string): string[] | undefined {
  if (!text.trim().startsWith("[")) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.map(String) : undefined;
  } catch {
    return undefined;
  }
}

function chooseRuntime(
  image: Image | undefined,
  packageJson: Record<string, unknown>,
): { runtime: "node" | "bun"; reason: string | undefined } {
  const startScript = program(words(field(field(packageJson, "scripts"), "start")));
  if (!image) {
    return startScript === "bun"
      ? { runtime: "bun", reason: "its package.json start script runs bun" }
      : { runtime: "node", reason: undefined };
  }
  let runs = program(image.command);
  let reason = `its ${image.file} runs ${runs}`;
  // `npm start` and the like run package.json's start script.
  if (runs && ["npm", "pnpm", "yarn"].includes(runs) && image.command.includes("start")) {
    reason = `its ${image.file} runs "${image.command.join(" ")}", which runs ${startScript}`;
    runs = startScript;
  }
  if (runs === "bun" || runs === "bunx") return { runtime: "bun", reason };
  if (runs === "node" || runs === "app-lenra") return { runtime: "node", reason };
  if (image.bases.some((base) => /^(docker\.io\/)?oven\/bun([:@]|$)/.test(base))) {
    return { runtime: "bun", reason: `its ${image.file} builds from oven/bun` };
  }
  return { runtime: "node", reason: undefined };
}

/** The program a command runs: `/usr/local/bin/bun` and `bun.exe` are `bun`. */
function program(command: readonly string[]): string | undefined {
  const first = command.find((word) => !/^\w+=/.test(word));
  return first
    ?.split(/[\\/]/)
    .pop()
    ?.replace(/\.exe$/i, "");
}

/** `@lenra/app`'s `app-lenra` script, which every Lenra JavaScript image runs. */
async function findAppLenra(dir: string): Promise<string> {
  const packageDir = findPackageDir("@lenra/app", [dir]);
  if (packageDir) {
    const bin = field(JSON.parse(await readFile(join(packageDir, "package.json"), "utf8")), "bin");
    const script = typeof bin === "string" ? bin : field(bin, "app-lenra");
    if (typeof script === "string" && (await isFile(join(packageDir, script)))) {
      return join(packageDir, script);
    }
  }
  throw new AppProcessError(
    AppProcessErrorReason.AppLenraMissing,
    `${dir} has no node_modules/@lenra/app with its app-lenra script: @lenra/app is not installed. Run "npm install" in ${dir} (its package.json must depend on @lenra/app).`,
  );
}

/**
 * The folder `@lenra/app` loads the app from, as its `loadConf` reads package.json:
 * `"app-lenra": { "dist" }`, else `"src"`, else `src`; and what it holds.
 */
async function findCode(
  dir: string,
  packageJson: Record<string, unknown>,
): Promise<{ folder: string; typescript: boolean; built: boolean }> {
  const conf = field(packageJson, "app-lenra");
  const src = stringField(conf, "src") ?? "src";
  const folder = stringField(conf, "dist") || src;
  const built = folder !== src;
  if (await isFile(join(dir, folder, "manifest.js"))) return { folder, typescript: false, built };
  // app-lenra imports manifest.js, which tsx and Bun resolve to manifest.ts.
  if (await isFile(join(dir, folder, "manifest.ts"))) return { folder, typescript: true, built };
  const build = typeof field(field(packageJson, "scripts"), "build") === "string";
  if (built) {
    throw new AppProcessError(
      AppProcessErrorReason.NotBuilt,
      `${dir} runs from ${folder}/ (package.json: "app-lenra": { "dist": "${folder}" }), which has no manifest.js: the app is not built. ${build ? 'Build it with "npm run build"' : `Compile ${src}/ to ${folder}/`}, then start the dev server again.`,
    );
  }
  throw new AppProcessError(
    AppProcessErrorReason.ManifestMissing,
    `${dir} has no ${folder}/manifest.js (nor manifest.ts): @lenra/app starts an app from its manifest, in src/ unless package.json's "app-lenra" names another folder ("src", or "dist" for a built app).`,
  );
}

function findTsx(toolDirs: readonly string[], dir: string, folder: string): string {
  const packageDir = findPackageDir("tsx", toolDirs);
  if (packageDir) {
    // Resolved from the node_modules that holds it, through its own exports.
    const from = join(dirname(dirname(packageDir)), "package.json");
    return pathToFileURL(createRequire(from).resolve("tsx")).href;
  }
  throw new AppProcessError(
    AppProcessErrorReason.TsxMissing,
    `This app runs on Node.js from TypeScript sources (${folder}/manifest.ts, not built) and tsx was not found (in ${dir} or the dev server's dependencies). Run "npm install --save-dev tsx" in ${dir}, or build the app to JavaScript.`,
  );
}

async function findBun(
  toolDirs: readonly string[],
  path: string,
  reason: string | undefined,
  dir: string,
): Promise<{ path: string; label: string }> {
  const packageDir = findPackageDir("bun", toolDirs);
  if (packageDir) {
    const manifest = JSON.parse(await readFile(join(packageDir, "package.json"), "utf8"));
    const bin = field(field(manifest, "bin"), "bun");
    const binary = join(packageDir, typeof bin === "string" ? bin : "bin/bun.exe");
    const size = (await stat(binary).catch(() => undefined))?.size ?? 0;
    if (size > BUN_PLACEHOLDER_MAX_BYTES) {
      return { path: binary, label: `Bun ${String(field(manifest, "version"))}` };
    }
    throw new AppProcessError(
      AppProcessErrorReason.BunMissing,
      `This app runs on Bun${reason ? ` (${reason})` : ""} but ${binary} is the bun package's placeholder: its install script did not run. Reinstall it with scripts allowed (with pnpm, add "bun" to "pnpm.onlyBuiltDependencies" in the root package.json, then run "pnpm install").`,
    );
  }
  const name = process.platform === "win32" ? "bun.exe" : "bun";
  for (const entry of path.split(delimiter)) {
    if (!entry) continue;
    const candidate = resolve(entry, name);
    if (await isExecutable(candidate)) return { path: candidate, label: "Bun (from PATH)" };
  }
  throw new AppProcessError(
    AppProcessErrorReason.BunMissing,
    `This app runs on Bun${reason ? ` (${reason})` : ""} and no bun was found (in ${dir}'s node_modules, the dev server's dependencies or PATH). Run "npm install --save-dev bun" in ${dir}.`,
  );
}

/**
 * The folder of package `name` in the `node_modules` of `from` or of a folder above it, first
 * match in order, as an ES module import resolves it (NODE_PATH, which package managers set
 * for their scripts, is not looked at: the app's own imports would not see it either).
 */
function findPackageDir(name: string, from: readonly string[]): string | undefined {
  for (const start of from) {
    for (let dir = resolve(start); ; dir = dirname(dir)) {
      const candidate = join(dir, "node_modules", name);
      if (existsSync(join(candidate, "package.json"))) return candidate;
      if (dirname(dir) === dir) break;
    }
  }
  return undefined;
}

function parseYamlSafely(text: string): unknown {
  try {
    return parseYaml(text);
  } catch {
    return undefined;
  }
}

async function readText(path: string): Promise<string | undefined> {
  return isFile(path).then((yes) => (yes ? readFile(path, "utf8") : undefined));
}

async function isFile(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  return info?.isFile() ?? false;
}

async function isExecutable(path: string): Promise<boolean> {
  return (
    (await isFile(path)) &&
    (await access(path, constants.X_OK).then(
      () => true,
      () => false,
    ))
  );
}

function words(value: unknown): string[] {
  return typeof value === "string" ? value.trim().split(/\s+/).filter(Boolean) : [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function field(value: unknown, key: string): unknown {
  return isRecord(value) && Object.hasOwn(value, key) ? value[key] : undefined;
}

function stringField(value: unknown, key: string): string | undefined {
  const member = field(value, key);
  return typeof member === "string" ? member : undefined;
}
