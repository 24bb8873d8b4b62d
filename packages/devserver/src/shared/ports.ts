import { createServer } from "node:net";

/**
 * Listens on `port` of `host` and closes at once: resolves with the port bound (a free one for
 * `0`), or rejects with the listen error (`EADDRINUSE`, `EACCES`...), so callers can say which.
 */
export function probePort(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ port, host, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === "object" && address ? address.port : port;
      server.close(() => resolve(bound));
    });
  });
}
