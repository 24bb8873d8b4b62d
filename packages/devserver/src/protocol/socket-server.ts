import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import { type JsonObject, toJsonSnapshot } from "../shared/json.ts";
import { createLog, type DevServerLogger, describeError, type Log } from "../shared/log.ts";
import type { ChannelRouter } from "./channel.ts";
import type { QueryParams } from "./connect.ts";
import { type ConnectionRefusal, type ConnectRequest, isConnectionRefusal } from "./connect.ts";
import { CloseCode, PhoenixConnection } from "./connection.ts";
import { EventLog, type ProtocolEvent, type ProtocolEventType } from "./event-log.ts";
import { parseQuery } from "./query.ts";

/** The only serializer version served: Phoenix's v2 JSON serializer. */
const SERIALIZER_VSN = "2.0.0";

/** An accepted connection: the socket's assigns, and who it is for the event log. */
export interface AcceptedConnection<A> {
  readonly assigns: A;
  readonly sessionId: string;
  readonly userId: string | undefined;
  readonly roles: readonly string[];
}

/** Options of the Phoenix socket server; the `@lenra/devserver/protocol` ones, plus its wiring. */
export interface SocketServerOptions<A> {
  /** Interface to listen on. Defaults to `127.0.0.1`. */
  host?: string;
  /** Port to listen on; `0` picks a free one. Defaults to `0`. */
  port?: number;
  /** Receives diagnostics. Defaults to silence. */
  logger?: DevServerLogger;
  /** Mount path of the socket; clients connect to `<socketPath>/websocket`. Defaults to `/socket`. */
  socketPath?: string;
  /** Largest frame accepted; a bigger one closes that socket with 1009. Defaults to 1 MiB. */
  maxFrameBytes?: number;
  /** A socket that sends nothing for this long is closed with 1000, as Phoenix's `timeout`. Defaults to 60 000 ms. */
  idleTimeoutMs?: number;
  /**
   * How long `close()` waits for the listener calls in flight to answer, then `close()` and
   * `disconnectAll()` for close handshakes, before dropping sockets. Defaults to 1 000 ms.
   */
  closeTimeoutMs?: number;
  /** How many events `events` keeps (counters stay exact). Defaults to 10 000. */
  eventLogLimit?: number;
  /** Answers every HTTP request that is not for the socket endpoint. Defaults to answering 404. */
  requestHandler?: (request: IncomingMessage, response: ServerResponse) => void;
  /** Picks the channel of each topic. */
  router: ChannelRouter<A>;
  /**
   * Decides who connects, before the upgrade completes. A refusal answers HTTP 403; a throw, 500.
   */
  connect(request: ConnectRequest): Promise<AcceptedConnection<A> | ConnectionRefusal>;
  /** An accepted connection ended (or was dropped before its upgrade completed). */
  release(assigns: A): void;
}

/**
 * How `disconnectAll` ends sockets.
 *
 * @example
 * ```ts
 * await server.disconnectAll({ abrupt: true }); // clients see 1006 and reconnect
 * ```
 */
export interface DisconnectOptions {
  /** Close code sent to clients. Defaults to 1000, what Phoenix sends on a server disconnect. */
  code?: number;
  /** Close reason sent to clients. Defaults to `""`. */
  reason?: string;
  /** Drop the TCP connections without a close frame (clients see 1006). Defaults to `false`. */
  abrupt?: boolean;
}

/** The controls of a running socket server, the ones tests drive it with. */
export interface SocketServerControls {
  /** `http://host:port`. */
  readonly url: string;
  /** The endpoint to give the Phoenix client: `ws://host:port/socket`. */
  readonly socketUrl: string;
  readonly port: number;
  readonly listening: boolean;
  /**
   * Ends every socket (close 1001) and refuses new ones (503) while plain HTTP, such as the data
   * API, still answers; `close()` does it too.
   */
  closeSockets(): Promise<void>;
  /** Ends every socket (close 1001), stops listening and resolves once the port is free. */
  close(): Promise<void>;
  /** Listens again on the same port after `close()`; clients reconnect by themselves. */
  listen(): Promise<void>;
  /** Open sockets (one session each) and the number of channels joined per topic. */
  stats(): { sockets: number; channels: Record<string, number> };
  push(topic: string, event: string, payload: JsonObject): number;
  crashChannels(topic: string): number;
  disconnectAll(options?: DisconnectOptions): Promise<void>;
  /** Recorded protocol events, oldest first. */
  readonly events: readonly ProtocolEvent[];
  count(type: ProtocolEventType, topic?: string): number;
  clearEvents(): void;
  /**
   * Resolves once `predicate` returns true, checked now, after every recorded event and every
   * 20 ms; rejects after `timeoutMs` (defaults to 5 000).
   */
  until(predicate: () => boolean, options?: { timeoutMs?: number }): Promise<void>;
}

/**
 * A Phoenix socket endpoint (serializer v2) on its own HTTP server: upgrades checked by
 * `connect` before they complete, one {@link PhoenixConnection} per socket, and the controls
 * tests drive it with (pushes, crashes, disconnects, an event log).
 */
export class PhoenixSocketServer<A> implements SocketServerControls {
  readonly #options: SocketServerOptions<A>;
  readonly #host: string;
  #port: number;
  readonly #endpoint: string;
  readonly #idleTimeoutMs: number;
  readonly #closeTimeoutMs: number;
  readonly #log: Log;
  readonly #events: EventLog;
  readonly #wss: WebSocketServer;
  readonly #connections = new Set<PhoenixConnection<A>>();
  // Upgrades waiting for `connect`; destroyed when the server closes.
  readonly #pending = new Set<Duplex>();
  #http: Server | undefined;
  /** False once `closeSockets()` ran: upgrades are refused while HTTP still answers. */
  #accepting = false;
  #socketSeq = 0;

  constructor(options: SocketServerOptions<A>) {
    this.#options = options;
    this.#host = options.host ?? "127.0.0.1";
    this.#port = options.port ?? 0;
    const socketPath = (options.socketPath ?? "/socket").replace(/\/+$/, "");
    this.#endpoint = `${socketPath}/websocket`;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 1_000;
    this.#log = createLog(options.logger);
    this.#events = new EventLog(options.eventLogLimit);
    this.#wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: options.maxFrameBytes ?? 1024 * 1024,
      // The official client offers "phoenix" plus its token when given `authToken`.
      handleProtocols: (protocols) => (protocols.has("phoenix") ? "phoenix" : false),
    });
    this.#wss.on("error", (error) =>
      this.#log.error("websocket server error", { error: error.message }),
    );
  }

  get url(): string {
    return `http://${hostForUrl(this.#host)}:${this.#port}`;
  }

  get socketUrl(): string {
    return `ws://${hostForUrl(this.#host)}:${this.#port}${this.#endpoint.slice(0, -"/websocket".length)}`;
  }

  get port(): number {
    return this.#port;
  }

  get listening(): boolean {
    return this.#http !== undefined;
  }

  get events(): readonly ProtocolEvent[] {
    return this.#events.events;
  }

  async listen(): Promise<void> {
    if (this.#http) return;
    const http = createServer((request, response) => this.#onRequest(request, response));
    http.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.#onUpgrade(request, socket, head).catch((error: unknown) => {
        this.#log.error("upgrade failed", { error: describeError(error) });
        rejectUpgrade(socket, 500);
      });
    });
    await new Promise<void>((resolve, reject) => {
      http.once("error", reject);
      http.listen(this.#port, this.#host, () => {
        http.off("error", reject);
        resolve();
      });
    });
    this.#port = (http.address() as AddressInfo).port;
    this.#http = http;
    this.#accepting = true;
    this.#log.info("protocol server listening", { url: this.url });
  }

  async closeSockets(): Promise<void> {
    this.#accepting = false;
    for (const socket of this.#pending) socket.destroy();
    this.#pending.clear();
    // Listener calls already running get their replies first: a call the app ran (and, with a
    // data file, whose writes are saved) is not left with an unknown outcome by a stop.
    await this.#within(Promise.all([...this.#connections].map((c) => c.answered())));
    await this.#disconnect([...this.#connections], {
      code: CloseCode.GoingAway,
      reason: "server closing",
    });
  }

  async close(): Promise<void> {
    const http = this.#http;
    if (!http) return;
    await this.closeSockets();
    this.#http = undefined;
    const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
    http.closeAllConnections();
    await stopped;
    this.#log.info("protocol server closed", { port: this.#port });
  }

  stats(): { sockets: number; channels: Record<string, number> } {
    const channels: Record<string, number> = {};
    for (const connection of this.#connections) {
      for (const topic of connection.topics) channels[topic] = (channels[topic] ?? 0) + 1;
    }
    return { sockets: this.#connections.size, channels };
  }

  /** Every open socket: its id, assigns and joined topics. */
  connections(): { socketId: string; assigns: A; topics: string[] }[] {
    return [...this.#connections].map(({ id, assigns, topics }) => ({
      socketId: id,
      assigns,
      topics,
    }));
  }

  push(topic: string, event: string, payload: JsonObject): number {
    const snapshot = toJsonSnapshot(payload) as JsonObject;
    let reached = 0;
    for (const connection of this.#connections) {
      if (connection.push(topic, event, snapshot)) reached++;
    }
    return reached;
  }

  crashChannels(topic: string): number {
    let crashed = 0;
    for (const connection of this.#connections) {
      if (connection.crash(topic, new Error("crashed by crashChannels()"))) crashed++;
    }
    return crashed;
  }

  disconnectAll(options: DisconnectOptions = {}): Promise<void> {
    return this.#disconnect([...this.#connections], options);
  }

  count(type: ProtocolEventType, topic?: string): number {
    return this.#events.count(type, topic);
  }

  clearEvents(): void {
    this.#events.clear();
  }

  until(predicate: () => boolean, options: { timeoutMs?: number } = {}): Promise<void> {
    return this.#events.until(predicate, options.timeoutMs ?? 5_000);
  }

  async #disconnect(
    connections: PhoenixConnection<A>[],
    { code = CloseCode.Normal, reason = "", abrupt = false }: DisconnectOptions,
  ): Promise<void> {
    for (const connection of connections) {
      if (abrupt) connection.terminate();
      else connection.close(code, reason);
    }
    const all = Promise.all(connections.map((connection) => connection.whenClosed));
    if (!(await this.#within(all))) {
      // A client that never answers the close frame must not keep the port busy.
      for (const connection of connections) if (!connection.closed) connection.terminate();
      await all;
    }
  }

  /** Waits for `work` at most the close timeout; false when it was not done by then. */
  async #within(work: Promise<unknown>): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.#closeTimeoutMs);
    });
    const done = await Promise.race([work.then(() => true), late]);
    clearTimeout(timer);
    return done;
  }

  #onRequest(request: IncomingMessage, response: ServerResponse): void {
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    if (path === this.#endpoint) {
      // What Phoenix answers a request on the socket path that is not a websocket upgrade.
      sendText(response, 400, "Expected a websocket upgrade.");
      return;
    }
    const handler = this.#options.requestHandler;
    if (!handler) {
      sendText(response, 404, "Not found.");
      return;
    }
    try {
      handler(request, response);
    } catch (error) {
      this.#log.error("request handler failed", { path, error: describeError(error) });
      if (!response.headersSent) sendText(response, 500, "Internal server error.");
      else response.destroy();
    }
  }

  async #onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // A client that goes away while `connect` runs must not crash the process.
    socket.on("error", () => socket.destroy());
    const url = new URL(request.url ?? "/", "http://localhost");
    if (url.pathname !== this.#endpoint) return this.#refuse(socket, 404, "not the socket path");
    if (!this.#accepting) return this.#refuse(socket, 503, "server closing");
    if (!isWebSocketUpgrade(request)) return this.#refuse(socket, 400, "not a websocket upgrade");
    let params: QueryParams;
    try {
      params = parseQuery(url.search);
    } catch (error) {
      return this.#refuse(socket, 400, describeError(error));
    }
    // Phoenix reads a missing vsn as 1.0.0, which a v2-only socket refuses with 403.
    if (params.vsn !== SERIALIZER_VSN) {
      return this.#refuse(socket, 403, `unsupported serializer version ${String(params.vsn)}`);
    }

    this.#pending.add(socket);
    let accepted: AcceptedConnection<A> | ConnectionRefusal;
    try {
      accepted = await this.#options.connect({
        params,
        headers: request.headers,
        authToken: readAuthToken(request),
        url: request.url ?? "/",
        remoteAddress: request.socket.remoteAddress,
      });
    } catch (error) {
      if (!this.#stillWanted(socket)) return;
      this.#log.error("connecting failed", { error: describeError(error) });
      return this.#refuse(socket, 500, describeError(error));
    } finally {
      this.#pending.delete(socket);
    }
    if (isConnectionRefusal(accepted)) {
      if (this.#stillWanted(socket)) this.#refuse(socket, 403, accepted.reason);
      return;
    }
    if (!this.#stillWanted(socket)) {
      this.#options.release(accepted.assigns);
      return;
    }
    this.#wss.handleUpgrade(request, socket, head, (ws) => this.#onConnection(ws, accepted));
  }

  #stillWanted(socket: Duplex): boolean {
    if (this.#accepting && !socket.destroyed) return true;
    socket.destroy();
    return false;
  }

  #refuse(socket: Duplex, status: number, reason: string): void {
    this.#events.record({ type: "refuse", status, reason });
    this.#log.debug("upgrade refused", { status, reason });
    rejectUpgrade(socket, status);
  }

  #onConnection(ws: WebSocket, accepted: AcceptedConnection<A>): void {
    const connection = new PhoenixConnection<A>({
      id: `socket-${++this.#socketSeq}`,
      ws,
      assigns: accepted.assigns,
      router: this.#options.router,
      idleTimeoutMs: this.#idleTimeoutMs,
      log: this.#log,
      events: this.#events,
      onClose: (closed) => {
        this.#connections.delete(closed);
        this.#options.release(accepted.assigns);
      },
    });
    this.#connections.add(connection);
    this.#events.record({
      type: "connect",
      socketId: connection.id,
      sessionId: accepted.sessionId,
      userId: accepted.userId,
      roles: accepted.roles,
    });
  }
}

function isWebSocketUpgrade(request: IncomingMessage): boolean {
  return (
    request.method === "GET" &&
    request.headers.upgrade?.toLowerCase() === "websocket" &&
    typeof request.headers["sec-websocket-key"] === "string"
  );
}

const AUTH_TOKEN_PREFIX = "base64url.bearer.phx.";

/** The token the official client puts in `Sec-WebSocket-Protocol` (its `authToken` option). */
function readAuthToken(request: IncomingMessage): string | undefined {
  const header = request.headers["sec-websocket-protocol"];
  if (typeof header !== "string") return undefined;
  for (const protocol of header.split(",")) {
    const trimmed = protocol.trim();
    if (trimmed.startsWith(AUTH_TOKEN_PREFIX)) {
      // The client encodes with btoa (one byte per UTF-16 code unit below 256), so latin1
      // is its exact inverse; Node's base64 decoder accepts the URL-safe alphabet as well.
      return Buffer.from(trimmed.slice(AUTH_TOKEN_PREFIX.length), "base64").toString("latin1");
    }
  }
  return undefined;
}

function rejectUpgrade(socket: Duplex, status: number): void {
  if (socket.destroyed) return;
  const body = `${STATUS_CODES[status] ?? "Error"}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\n` +
      "Connection: close\r\n" +
      "Content-Type: text/plain; charset=utf-8\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  socket.once("finish", () => socket.destroy());
}

function sendText(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" });
  response.end(`${text}\n`);
}

function hostForUrl(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}
