import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, resolve, sep } from "node:path";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".webmanifest": "application/manifest+json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".wasm": "application/wasm",
};

/** A static file server on 127.0.0.1, started before the files it serves exist. */
export interface StaticServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly origin: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves the files under `root` (a directory that may not exist yet: a build fills it later) on
 * a free port of 127.0.0.1. `/` and directories serve their `index.html`; anything else missing
 * is a 404 (the examples route with the hash, so there is no SPA fallback to hide a broken path).
 */
export async function startStaticServer(root: string): Promise<StaticServer> {
  const base = resolve(root);
  const server = createServer(async (request, response) => {
    const send = (status: number, text: string) => {
      response.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
      response.end(text);
    };
    if (request.method !== "GET" && request.method !== "HEAD") return send(405, "GET only\n");
    let path: string;
    try {
      path = decodeURIComponent(new URL(request.url ?? "/", "http://127.0.0.1").pathname);
    } catch {
      return send(400, "bad path\n");
    }
    let file = resolve(join(base, path));
    if (file !== base && !file.startsWith(base + sep)) return send(403, "outside the root\n");
    try {
      let info = await stat(file);
      if (info.isDirectory()) {
        file = join(file, "index.html");
        info = await stat(file);
      }
      response.writeHead(200, {
        "content-type": CONTENT_TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
        "content-length": info.size,
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
      });
      if (request.method === "HEAD") return response.end();
      createReadStream(file)
        .on("error", () => response.destroy())
        .pipe(response);
    } catch {
      send(404, `not found: ${path}\n`);
    }
  });
  await new Promise<void>((done, fail) => {
    server.once("error", fail);
    server.listen({ port: 0, host: "127.0.0.1" }, () => done());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}
