import { existsSync } from "node:fs";
import { cp, mkdir, realpath, rm, symlink } from "node:fs/promises";
import { createServer, type Socket as NetSocket, type Server } from "node:net";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Socket } from "phoenix";
import { WebSocket } from "ws";
import { insecureTestToken } from "../src/testing.ts";
import { connectPhoenix, type LiveRoute, onCleanup, openRoute, waitFor } from "./helpers.ts";

export const counterAppDir = fileURLToPath(
  new URL("../../../examples/counter-app", import.meta.url),
);
const appFixtures = fileURLToPath(new URL("./fixtures/app-process", import.meta.url));
const packageDir = fileURLToPath(new URL("..", import.meta.url));
const lenraApp = join(packageDir, "node_modules", "@lenra", "app");

/** The app name guests give: Lenra refuses a guest socket that names no app. */
export const APP_NAME = "counter-app";

/** A guest socket (no token), disconnected after the test. */
export function guest(server: { socketUrl: string }, context?: Record<string, unknown>): Socket {
  return connectPhoenix(server, context ? { app: APP_NAME, context } : { app: APP_NAME });
}

/** A user socket through the dev server's test-only tokens (`insecureTestTokens: true`). */
export function testUser(server: { socketUrl: string }, userId: string): Socket {
  return connectPhoenix(server, { token: insecureTestToken(userId) });
}

/** A user id no other test uses, so tests sharing one dev server stay independent. */
export function uniqueUser(prefix = "user"): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
}

/** Opens `path` on `socket` and waits for its first document. */
export function open(socket: Socket, path: string): Promise<LiveRoute> {
  return openRoute(socket, path);
}

/** Waits until `route`'s document satisfies `predicate`. */
export async function until<T>(
  route: LiveRoute,
  predicate: (document: T) => boolean,
  what = "the expected document",
): Promise<T> {
  await waitFor(() => predicate(route.document as T), 5_000, what);
  return route.document as T;
}

/** The HTTP status a websocket upgrade gets (101 when it is accepted). */
export function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once("open", () => {
      ws.terminate();
      resolve(101);
    });
    ws.once("unexpected-response", (_request, response) => {
      resolve(response.statusCode ?? 0);
      ws.terminate();
    });
    ws.once("error", (error) => {
      if (ws.readyState !== WebSocket.CLOSED) reject(error);
    });
  });
}

/** The socket endpoint URL with its query (naming the app), as the official client builds it. */
export function socketEndpoint(socketUrl: string, params: Record<string, string> = {}): string {
  const query = new URLSearchParams({ app: APP_NAME, ...params, vsn: "2.0.0" });
  return `${socketUrl}/websocket?${query}`;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw error;
  }
}

/** A port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Holds a port on 127.0.0.1 until the test ends; what connects there gets no answer. */
export async function occupyPort(): Promise<number> {
  const sockets = new Set<NetSocket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.resume();
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  const address = server.address();
  return typeof address === "object" && address ? address.port : 0;
}

/**
 * Copies an app fixture into `scratch` and installs @lenra/app in it as npm would, with the
 * workspace's copy of each package in `links` (tsx, typescript...) as its other dependencies.
 * Outside the repository, the copy finds no other package by walking up.
 */
export function installAppFixture(
  scratch: string,
  name: string,
  links: readonly string[] = [],
): Promise<string> {
  return installApp(scratch, join(appFixtures, name), { links });
}

/**
 * Copies the app at `source` into `scratch`, without the files `without` names (paths inside
 * the app), and installs @lenra/app in the copy as npm would, with the workspace's copy of each
 * package in `links`.
 */
export async function installApp(
  scratch: string,
  source: string,
  options: { without?: readonly string[]; links?: readonly string[] } = {},
): Promise<string> {
  const dir = join(scratch, `${basename(source)}-${Math.random().toString(16).slice(2)}`);
  await cp(source, dir, { recursive: true });
  for (const file of options.without ?? []) await rm(join(dir, file));
  await mkdir(join(dir, "node_modules", "@lenra"), { recursive: true });
  await mkdir(join(dir, "node_modules", ".bin"));
  const real = await realpath(lenraApp);
  await symlink(real, join(dir, "node_modules", "@lenra", "app"));
  await symlink(
    join(real, "dist", "bin", "app-lenra.js"),
    join(dir, "node_modules", ".bin", "app-lenra"),
  );
  for (const link of options.links ?? []) {
    const target = join(dir, "node_modules", link);
    await mkdir(dirname(target), { recursive: true });
    await symlink(await realpath(workspacePackage(link)), target);
  }
  return dir;
}

/** A package installed in this workspace: the dev server's dependency, or the root's. */
export function workspacePackage(name: string): string {
  const own = join(packageDir, "node_modules", name);
  return existsSync(own) ? own : join(packageDir, "..", "..", "node_modules", name);
}
