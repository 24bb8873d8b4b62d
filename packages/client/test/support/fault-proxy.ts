import { createServer, type Server, Socket } from "node:net";

/**
 * What the proxy does with a new TCP connection:
 * - `forward`: connects it to the target and relays bytes both ways (with the delay and
 *   throttle set);
 * - `blackhole`: accepts it and never answers nor forwards a byte (a hung upgrade, a route to
 *   nowhere);
 * - `bad-gateway`: reads the request head and answers `502 Bad Gateway` (a gateway whose upstream
 *   is down);
 * - `reset`: destroys it at once (a network error).
 */
export type FaultMode = "forward" | "blackhole" | "bad-gateway" | "reset";

export interface FaultProxy {
  /** The port the proxy listens on, on 127.0.0.1. */
  readonly port: number;
  /** `ws://127.0.0.1:<port><path>`: the target's socket endpoint seen through the proxy. */
  socketUrl(path?: string): string;
  /** TCP connections accepted so far, whatever their mode. */
  readonly accepted: number;
  /** Connections accepted so far in each mode. */
  readonly acceptedBy: Readonly<Record<FaultMode, number>>;
  /** Points new connections at another port (a server restarted elsewhere). */
  setTarget(port: number): void;
  /** What new connections get from now on. */
  setMode(mode: FaultMode): void;
  /** Destroys every open connection, both sides (a cable pulled, a NAT entry lost). */
  cut(): void;
  /**
   * From now on, nothing passes on the connections open now, either way, and neither side hears
   * of a close (a half-open socket). New connections are not affected.
   */
  stall(): void;
  /** Holds every chunk this long before passing it on, each way (0: none). */
  setDelay(ms: number): void;
  /** Lets at most this many bytes a second through, each way (undefined: no limit). */
  setThrottle(bytesPerSecond: number | undefined): void;
  /** New connections are forwarded again, without delay or throttle. Stalled ones stay stalled. */
  heal(): void;
  /** Destroys every connection and stops listening. */
  close(): Promise<void>;
}

const BAD_GATEWAY =
  "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: close\r\n\r\nBad Gateway\n";

/** One direction of a forwarded connection: delivers chunks in order, late and slow if told. */
class Pipe {
  #queue: Buffer[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** When the throttle lets the next byte through. */
  #freeAt = 0;
  stalled = false;

  constructor(
    readonly to: Socket,
    readonly shape: () => { delayMs: number; bytesPerSecond: number | undefined },
  ) {}

  push(chunk: Buffer) {
    if (this.stalled) return;
    const { delayMs, bytesPerSecond } = this.shape();
    if (delayMs === 0 && bytesPerSecond === undefined && this.#queue.length === 0) {
      this.to.write(chunk);
      return;
    }
    // Throttled chunks are cut small, so a big frame trickles instead of landing at once.
    const step = bytesPerSecond === undefined ? chunk.length : Math.max(1, bytesPerSecond >> 4);
    for (let at = 0; at < chunk.length; at += step) {
      const piece = chunk.subarray(at, at + step);
      const now = Date.now();
      const start = Math.max(now + delayMs, this.#freeAt);
      this.#freeAt =
        bytesPerSecond === undefined ? start : start + (piece.length * 1000) / bytesPerSecond;
      this.#queue.push(Object.assign(piece, { due: this.#freeAt }));
    }
    this.#drain();
  }

  #drain() {
    if (this.#timer !== undefined) return;
    const next = this.#queue[0] as (Buffer & { due: number }) | undefined;
    if (!next) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        const now = Date.now();
        while (this.#queue.length > 0) {
          const head = this.#queue[0] as Buffer & { due: number };
          if (head.due > now) break;
          this.#queue.shift();
          if (!this.stalled && !this.to.destroyed) this.to.write(head);
        }
        this.#drain();
      },
      Math.max(0, next.due - Date.now()),
    );
  }

  stop() {
    this.stalled = true;
    this.#queue = [];
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * A TCP proxy on 127.0.0.1 for fault tests: put it between a client and a server, then cut,
 * stall, black-hole, delay, throttle or answer 502, as networks and gateways do to a live page.
 * It knows nothing of HTTP or websockets beyond reading a request head to answer 502.
 */
export async function startFaultProxy(targetPort: number): Promise<FaultProxy> {
  let target = targetPort;
  let mode: FaultMode = "forward";
  let delayMs = 0;
  let bytesPerSecond: number | undefined;
  const shape = () => ({ delayMs, bytesPerSecond });
  const acceptedBy: Record<FaultMode, number> = {
    forward: 0,
    blackhole: 0,
    "bad-gateway": 0,
    reset: 0,
  };
  /** Every open connection: its sockets and, when forwarded, its two pipes. */
  const links = new Set<{ sockets: Socket[]; pipes: Pipe[] }>();

  const track = (sockets: Socket[], pipes: Pipe[] = []) => {
    const link = { sockets, pipes };
    links.add(link);
    const end = () => {
      // A stalled link never tells one side that the other went away.
      if (pipes.some((pipe) => pipe.stalled)) return;
      links.delete(link);
      for (const socket of sockets) socket.destroy();
      for (const pipe of pipes) pipe.stop();
    };
    for (const socket of sockets) {
      socket.on("error", () => {});
      socket.on("close", end);
    }
    return link;
  };

  const server: Server = createServer((client) => {
    acceptedBy[mode] += 1;
    client.setNoDelay(true);
    switch (mode) {
      case "reset":
        client.resetAndDestroy();
        return;
      case "blackhole":
        track([client]);
        client.resume();
        return;
      case "bad-gateway": {
        track([client]);
        let head = "";
        client.on("data", (chunk) => {
          head += chunk.toString("latin1");
          if (head.includes("\r\n\r\n")) client.end(BAD_GATEWAY);
        });
        return;
      }
      case "forward": {
        const upstream = new Socket();
        upstream.setNoDelay(true);
        const up = new Pipe(upstream, shape);
        const down = new Pipe(client, shape);
        track([client, upstream], [up, down]);
        client.on("data", (chunk) => up.push(chunk));
        upstream.on("data", (chunk) => down.push(chunk));
        upstream.connect(target, "127.0.0.1");
        return;
      }
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;

  return {
    port,
    socketUrl: (path = "/socket") => `ws://127.0.0.1:${port}${path}`,
    get accepted() {
      return Object.values(acceptedBy).reduce((sum, n) => sum + n, 0);
    },
    acceptedBy,
    setTarget(port) {
      target = port;
    },
    setMode(next) {
      mode = next;
    },
    cut() {
      for (const link of [...links]) {
        links.delete(link);
        for (const pipe of link.pipes) pipe.stop();
        for (const socket of link.sockets) socket.resetAndDestroy();
      }
    },
    stall() {
      for (const link of links) for (const pipe of link.pipes) pipe.stop();
    },
    setDelay(ms) {
      delayMs = ms;
    },
    setThrottle(limit) {
      bytesPerSecond = limit;
    },
    heal() {
      mode = "forward";
      delayMs = 0;
      bytesPerSecond = undefined;
    },
    async close() {
      for (const link of [...links]) {
        links.delete(link);
        for (const pipe of link.pipes) pipe.stop();
        for (const socket of link.sockets) socket.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
