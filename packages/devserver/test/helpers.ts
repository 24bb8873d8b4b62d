import jsonPatch, { type Operation } from "fast-json-patch";
import { type Channel, Socket } from "phoenix";
import { afterEach } from "vitest";
import { WebSocket } from "ws";
import {
  type JsonObject,
  type ProtocolServer,
  type ProtocolServerOptions,
  startProtocolServer,
} from "../src/protocol.ts";
import { createTestApp, type TestApp, type TestAppOptions } from "../src/testing.ts";

const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  // Clients first, so servers close without waiting on handshakes.
  const pending = cleanups.splice(0).reverse();
  for (const cleanup of pending) await cleanup();
});

/** Runs `cleanup` after the current test. */
export function onCleanup(cleanup: () => unknown): void {
  cleanups.push(cleanup);
}

export interface Harness<S> {
  app: TestApp<S>;
  server: ProtocolServer;
}

/** Starts a test app behind a protocol server on 127.0.0.1, closed after the test. */
export async function startHarness<S>(
  appOptions: TestAppOptions<S>,
  serverOptions: Partial<ProtocolServerOptions> = {},
): Promise<Harness<S>> {
  const app = createTestApp(appOptions);
  const server = await startProtocolServer({ backend: app, ...serverOptions });
  cleanups.unshift(() => server.close());
  return { app, server };
}

/** The app name test sockets give: Lenra refuses a guest socket that names no app. */
export const TEST_APP_NAME = "test-app";

/**
 * An official Phoenix client over `ws`, disconnected after the test. It names the app
 * ({@link TEST_APP_NAME}) unless `params` says otherwise, as a Lenra client does.
 */
export function connectPhoenix(
  server: { socketUrl: string },
  params: Record<string, unknown> = {},
  options: { timeout?: number } = {},
): Socket {
  const socket = new Socket(server.socketUrl, {
    transport: WebSocket as unknown as new (endpoint: string) => object,
    params: { app: TEST_APP_NAME, ...params },
    timeout: options.timeout ?? 2_000,
    reconnectAfterMs: () => 50,
    rejoinAfterMs: () => 50,
  });
  socket.connect();
  onCleanup(() => new Promise<void>((resolve) => socket.disconnect(() => resolve())));
  return socket;
}

export interface ReplyResult {
  status: string;
  response: unknown;
}

/** Joins and resolves with the reply, whatever its status (`timeout` too). */
export function joinChannel(channel: Channel): Promise<ReplyResult> {
  return new Promise((resolve) => {
    channel
      .join()
      .receive("ok", (response) => resolve({ status: "ok", response }))
      .receive("error", (response) => resolve({ status: "error", response }))
      .receive("timeout", () => resolve({ status: "timeout", response: undefined }));
  });
}

/** Pushes and resolves with the reply, whatever its status (`timeout` too). */
export function pushAsync(
  channel: Channel,
  event: string,
  payload: object,
  timeout?: number,
): Promise<ReplyResult> {
  return new Promise((resolve) => {
    channel
      .push(event, payload, timeout)
      .receive("ok", (response) => resolve({ status: "ok", response }))
      .receive("error", (response) => resolve({ status: "error", response }))
      .receive("timeout", () => resolve({ status: "timeout", response: undefined }));
  });
}

/** Resolves once `predicate` holds, polling every 5 ms; rejects after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean,
  timeoutMs = 15_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(5);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A route as a client sees it: `ui` replaces the document, `patchUi` patches it. */
export class LiveRoute {
  readonly channel: Channel;
  document: unknown;
  readonly received: { event: string; payload: unknown }[] = [];
  readonly errors: unknown[] = [];
  phxErrors = 0;
  patchFailures = 0;

  constructor(socket: Socket, path: string) {
    this.channel = socket.channel(`route:${path}`, { mode: "json" });
    this.channel.on("ui", (payload) => {
      this.received.push({ event: "ui", payload });
      this.document = structuredClone(payload);
    });
    this.channel.on("patchUi", (payload: { patch: Operation[] }) => {
      this.received.push({ event: "patchUi", payload });
      try {
        this.document = jsonPatch.applyPatch(this.document, payload.patch, true, false).newDocument;
      } catch {
        // A client would resync; tests only need to know it happened.
        this.patchFailures++;
      }
    });
    this.channel.on("error", (payload) => {
      this.received.push({ event: "error", payload });
      this.errors.push(payload);
    });
    this.channel.onError(() => {
      this.phxErrors++;
    });
  }

  join(): Promise<ReplyResult> {
    return joinChannel(this.channel);
  }

  /** Joins, expects ok, and waits for the first `ui`. */
  async open(): Promise<this> {
    const reply = await this.join();
    if (reply.status !== "ok") throw new Error(`join failed: ${JSON.stringify(reply)}`);
    await waitFor(() => this.document !== undefined, 15_000, "the first ui");
    return this;
  }

  /** The client code of the listener found at `path` (dot-separated) in the document. */
  code(path: string): string {
    let value: unknown = this.document;
    for (const key of path.split(".")) value = (value as Record<string, unknown>)[key];
    const code = (value as { code?: unknown })?.code;
    if (typeof code !== "string") throw new Error(`No listener at ${path}`);
    return code;
  }

  run(code: string, event?: unknown, timeout?: number): Promise<ReplyResult> {
    return pushAsync(
      this.channel,
      "run",
      event === undefined ? { code } : { code, event },
      timeout,
    );
  }

  count(event: string): number {
    return this.received.filter((item) => item.event === event).length;
  }
}

/** Opens a route for a Phoenix socket and waits for its first document. */
export function openRoute(socket: Socket, path: string): Promise<LiveRoute> {
  return new LiveRoute(socket, path).open();
}

type Frame = [string | null, string | null, string, string, JsonObject];

/** A bare websocket client, to send what the official client never would. */
export class RawClient {
  readonly ws: WebSocket;
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;
  #ref = 0;

  constructor(url: string, protocols?: string[]) {
    this.ws = new WebSocket(url, protocols);
    this.ws.on("error", () => {});
    this.ws.on("message", (data) => this.frames.push(JSON.parse(data.toString()) as Frame));
    this.closed = new Promise((resolve) =>
      this.ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    this.opened = new Promise((resolve, reject) => {
      this.ws.once("open", () => resolve());
      this.ws.once("unexpected-response", (_request, response) =>
        reject(new Error(`HTTP ${response.statusCode}`)),
      );
      this.ws.once("error", reject);
    });
    onCleanup(() => this.ws.terminate());
  }

  static async open(
    server: ProtocolServer,
    query = `vsn=2.0.0&app=${TEST_APP_NAME}`,
  ): Promise<RawClient> {
    const client = new RawClient(`${server.socketUrl}/websocket?${query}`);
    await client.opened;
    return client;
  }

  /** Refs of the form `r1`, `r2`..., so they never collide with refs a test writes by hand. */
  nextRef(): string {
    return `r${++this.#ref}`;
  }

  send(data: unknown): void {
    this.ws.send(typeof data === "string" ? data : JSON.stringify(data));
  }

  /** Sends a frame with a fresh ref and resolves with the reply to it. */
  async request(
    joinRef: string | null,
    topic: string,
    event: string,
    payload: unknown = {},
  ): Promise<Frame> {
    const ref = this.nextRef();
    this.send([joinRef, ref, topic, event, payload]);
    return this.next((frame) => frame[1] === ref && frame[3] === "phx_reply");
  }

  /** Resolves with the first received frame matching `match`, waiting if needed. */
  async next(match: (frame: Frame) => boolean, timeoutMs = 10_000): Promise<Frame> {
    let found: Frame | undefined;
    await waitFor(
      () => {
        found = this.frames.find(match);
        return found !== undefined;
      },
      timeoutMs,
      "a frame",
    );
    return found!;
  }
}
