#!/usr/bin/env node
import { relative } from "node:path";
import { parseArgs } from "node:util";
import { withoutStackTraces } from "./app/output.ts";
import { DEFAULT_AUTH_PORT } from "./auth/auth-server.ts";
import { DEFAULT_DEV_CLIENT_ID, defaultDevClient } from "./auth/dev-clients.ts";
import { type DevServer, startDevServer } from "./server/dev-server.ts";
import { DEFAULT_DEV_SERVER_PORT } from "./server/startup.ts";
import type { DevServerLogger } from "./shared/log.ts";

const HELP = `Usage: lenra-devserver --app <dir|url> [options]

A local Lenra for development: runs a @lenra/app app (or uses a running one), serves its JSON
routes over the Lenra socket protocol, its data API and an OAuth server with a dev login page.

Options:
  --app <dir|url>         the app's directory (run as its Lenra image would: Node, tsx or Bun),
                          or the URL of a running app
  --app-port <n>          port of the app started from its directory (default: a free port)
  --port <n>              port of the socket and the data API (default ${DEFAULT_DEV_SERVER_PORT})
  --host <host>           interface to listen on (default 127.0.0.1)
  --data <file.json>      load the data and the logins from this file and save them there
                          (default: memory only, so logins last one run)
  --auth-port <n>         port of the OAuth server, always on loopback (default ${DEFAULT_AUTH_PORT})
  --client-id <id>        id of the dev OAuth client (default ${DEFAULT_DEV_CLIENT_ID})
  --redirect-uri <uri>    a redirect URI of the dev client; repeat for several
                          (default /redirect.html on localhost and 127.0.0.1, ports 5173 5174 4173 4174)
  --access-token-ttl <s>  access token lifetime in seconds (default 3600)
  --front-end <url>       a page that uses this dev server: the banner ends with it, once it
                          answers; repeat for several
  --quiet                 do not print the app's output
  --debug                 print debug logs, the app's stack traces, and stack traces of startup errors
  -h, --help              show this help

Stop it with Ctrl+C: the app and every port it used are released.`;

interface CliOptions {
  app: string;
  appPort: number | undefined;
  port: number;
  host: string;
  data: string | undefined;
  authPort: number;
  clientId: string | undefined;
  redirectUris: string[];
  accessTokenTtl: number | undefined;
  frontEnds: string[];
  quiet: boolean;
  debug: boolean;
}

class UsageError extends Error {}

function parse(argv: string[]): CliOptions | "help" {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      app: { type: "string" },
      "app-port": { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      data: { type: "string" },
      "auth-port": { type: "string" },
      "client-id": { type: "string" },
      "redirect-uri": { type: "string", multiple: true },
      "access-token-ttl": { type: "string" },
      "front-end": { type: "string", multiple: true },
      quiet: { type: "boolean" },
      debug: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  if (positionals.length > 0) {
    throw new UsageError(
      `Unexpected argument "${positionals[0]}". Did you mean --app ${positionals[0]}?`,
    );
  }
  if (!values.app) throw new UsageError("--app is required: the app's directory or its URL.");
  if (values["app-port"] !== undefined && /^https?:\/\//i.test(values.app)) {
    throw new UsageError(
      "--app-port is for an app started from its directory; the URL of a running app already says its port.",
    );
  }
  return {
    app: values.app,
    appPort:
      values["app-port"] === undefined
        ? undefined
        : integer(values["app-port"], "--app-port", 0, 0, 65_535),
    port: integer(values.port, "--port", DEFAULT_DEV_SERVER_PORT, 0, 65_535),
    host: values.host ?? "127.0.0.1",
    data: values.data,
    authPort: integer(values["auth-port"], "--auth-port", DEFAULT_AUTH_PORT, 0, 65_535),
    clientId: values["client-id"],
    redirectUris: values["redirect-uri"] ?? [],
    accessTokenTtl:
      values["access-token-ttl"] === undefined
        ? undefined
        : integer(values["access-token-ttl"], "--access-token-ttl", 3600, 1, 2 ** 31),
    frontEnds: (values["front-end"] ?? []).map((url) => {
      if (!/^https?:\/\//i.test(url) || URL.parse(url) === null) {
        throw new UsageError(
          `--front-end must be an http(s) URL such as http://127.0.0.1:5173, not "${url}".`,
        );
      }
      return url;
    }),
    quiet: values.quiet ?? false,
    debug: values.debug ?? false,
  };
}

function integer(
  text: string | undefined,
  flag: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, not "${text}".`);
  }
  return value;
}

function consoleLogger(debug: boolean): DevServerLogger {
  const print =
    (level: string, write: (line: string) => void) =>
    (message: string, details?: Record<string, unknown>) => {
      const extra = details && Object.keys(details).length > 0 ? ` ${JSON.stringify(details)}` : "";
      write(`[devserver] ${level}${message}${extra}`);
    };
  return {
    debug: debug ? print("", (line) => console.log(line)) : undefined,
    info: debug ? print("", (line) => console.log(line)) : undefined,
    warn: print("warning: ", (line) => console.warn(line)),
    error: print("error: ", (line) => console.error(line)),
  };
}

function prefixLines(text: string, prefix: string): string {
  return text
    .replace(/\n$/, "")
    .split("\n")
    .map((line) => `${prefix}${line}`)
    .join("\n");
}

function banner(server: DevServer, options: CliOptions): string {
  const client = server.auth.clients[0];
  const where = server.app.dir
    ? ` (${relative(process.cwd(), server.app.dir) || "."}, pid ${server.app.pid})`
    : "";
  const lines = [
    "",
    "Lenra dev server ready",
    `  socket:         ${server.socketUrl}`,
    `  app:            ${server.app.url}${where}`,
  ];
  if (server.app.runtime) lines.push(`  runtime:        ${server.app.runtime}`);
  const { lenraRoutes } = server.manifest;
  if (lenraRoutes.length > 0) {
    // Lenra's own UI components render only in Lenra's client: the JSON routes are what is served.
    lines.push(
      `  not served:     lenra routes ${lenraRoutes.map((route) => route.path).join(", ")} (Lenra's UI components)`,
    );
  }
  lines.push(
    `  data:           ${options.data ? `${options.data} (the logins too)` : "in memory, logins too (pass --data <file.json> to keep them)"}`,
    `  OAuth issuer:   ${server.auth.url}`,
  );
  if (client) {
    lines.push(`  client id:      ${client.clientId}`);
    lines.push(`  redirect URIs:  ${client.redirectUris.join("\n                  ")}`);
  }
  lines.push("", "Press Ctrl+C to stop.", "");
  return lines.join("\n");
}

/** How long the banner waits for the front ends before it lists them anyway. */
const FRONT_END_WAIT_MS = 60_000;

/**
 * The last lines of the banner: the front ends to open, once each answers (or the wait ended),
 * so that they come after what the front ends' own servers print when started together.
 */
async function frontEndLines(urls: readonly string[]): Promise<string> {
  const deadline = Date.now() + FRONT_END_WAIT_MS;
  const answers = async (url: string) => {
    for (;;) {
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
        await response.body?.cancel();
        return true;
      } catch {
        if (Date.now() > deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  };
  const answered = await Promise.all(urls.map(answers));
  const lines = urls.map(
    (url, index) => `  ${url}${answered[index] ? "" : " (not answering yet)"}`,
  );
  return ["Open in a browser:", ...lines, ""].join("\n");
}

async function main(): Promise<number> {
  let options: CliOptions | "help";
  try {
    options = parse(process.argv.slice(2));
  } catch (error) {
    console.error(
      `lenra-devserver: ${(error as Error).message}\nRun lenra-devserver --help for the options.`,
    );
    return 2;
  }
  if (options === "help") {
    console.log(HELP);
    return 0;
  }
  const cli = options;
  const clients =
    cli.clientId !== undefined || cli.redirectUris.length > 0
      ? [
          {
            ...defaultDevClient(),
            clientId: cli.clientId ?? DEFAULT_DEV_CLIENT_ID,
            ...(cli.redirectUris.length > 0
              ? {
                  redirectUris: cli.redirectUris,
                  postLogoutRedirectUris: [
                    ...new Set(cli.redirectUris.map((uri) => `${new URL(uri).origin}/`)),
                  ],
                }
              : {}),
          },
        ]
      : undefined;

  let server: DevServer | undefined;
  let signalledAt: number | undefined;
  // Registered before the start, so a Ctrl+C while the app boots still stops what was started
  // (once startDevServer returns it).
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalledAt !== undefined) {
      // pnpm, npm and turbo forward the terminal's Ctrl+C to a process that got it already:
      // only a second Ctrl+C from a person, a moment later, means "stop waiting".
      if (Date.now() - signalledAt < 1_000) return;
      console.error(`lenra-devserver: ${signal} again, exiting now.`);
      process.exit(1);
    }
    signalledAt = Date.now();
    console.log(`\nStopping (${signal})...`);
    if (!server) return;
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`lenra-devserver: stopping failed: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, onSignal);
  // Whatever ends this process (a crash, process.exit), the app's process group goes with it.
  process.on("exit", () => {
    const pid = server?.app.pid;
    if (pid === undefined) return;
    try {
      process.kill(process.platform === "win32" ? pid : -pid, "SIGTERM");
    } catch {}
  });

  try {
    server = await startDevServer({
      app: cli.app,
      appPort: cli.appPort,
      port: cli.port,
      host: cli.host,
      data: cli.data,
      authPort: cli.authPort,
      clients,
      accessTokenTtl: cli.accessTokenTtl,
      logger: consoleLogger(cli.debug),
      onAppOutput: cli.quiet
        ? undefined
        : (text, stream) => {
            // The dev server logs one line per failed view or listener: the app's own stack
            // traces only with --debug.
            const shown = cli.debug ? text : withoutStackTraces(text);
            if (shown.trim() === "") return;
            const lines = prefixLines(shown, "[app] ");
            if (stream === "stderr") console.error(lines);
            else console.log(lines);
          },
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`lenra-devserver: ${message}`);
    if (cli.debug && error instanceof Error && error.stack) console.error(error.stack);
    return 1;
  }
  if (signalledAt !== undefined) {
    await server.close();
    return 0;
  }
  console.log(banner(server, cli));
  if (cli.frontEnds.length > 0) console.log(await frontEndLines(cli.frontEnds));
  // Runs until a signal: the open server keeps the event loop alive.
  return await new Promise<number>(() => {});
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`lenra-devserver: ${(error as Error).stack ?? String(error)}`);
    process.exitCode = 1;
  },
);
