import { createServer, type IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";

/** A Phoenix v2 frame as the client sends it: `[join_ref, ref, topic, event, payload]`. */
export interface ClientFrame {
  joinRef: string | null;
  ref: string | null;
  topic: string;
  event: string;
  payload: unknown;
}

/** One socket of a {@link ScriptedServer}, to answer and push by hand. */
export interface ScriptedSocket {
  /** Sends raw text, as is: anything, valid frame or not. */
  sendRaw(text: string): void;
  /** Sends a well-formed frame. */
  send(
    joinRef: string | null,
    ref: string | null,
    topic: string,
    event: string,
    payload: unknown,
  ): void;
  /** Replies to `frame` with `status` and `response` (a `phx_reply`). */
  reply(frame: ClientFrame, status: string, response?: unknown): void;
  /** The join ref of `topic`'s last join on this socket. */
  joinRef(topic: string): string | null;
  /** Every frame the client sent, in order. */
  readonly frames: readonly ClientFrame[];
}

export interface ScriptedServerOptions {
  /**
   * Sees each frame the client sent first; `next()` gives it the default answer: `ok` to
   * heartbeats and leaves, `ok` to joins followed by `onJoin`'s pushes, `onRun` for runs.
   */
  onFrame?: (socket: ScriptedSocket, frame: ClientFrame, next: () => void) => void;
  /** After a join was answered `ok`: what to push (by default, nothing). */
  onJoin?: (socket: ScriptedSocket, frame: ClientFrame) => void;
  /** Called on a `run` push (by default, answered `ok` with `{}`). */
  onRun?: (socket: ScriptedSocket, frame: ClientFrame) => void;
}

export interface ScriptedServer {
  /** `ws://127.0.0.1:<port>/socket`. */
  readonly socketUrl: string;
  readonly port: number;
  /** Upgrades accepted so far. */
  readonly connections: number;
  /** Resolves with the next socket to connect. */
  nextSocket(): Promise<ScriptedSocket>;
  close(): Promise<void>;
}

/**
 * A hand-made Phoenix socket server over real websockets, for the cases a faithful server never
 * produces: frames that are not JSON, replies with unknown statuses, documents nested too deep,
 * patches that do not apply. Each test scripts what it answers.
 */
export async function startScriptedServer(
  options: ScriptedServerOptions = {},
): Promise<ScriptedServer> {
  const waiting: ((socket: ScriptedSocket) => void)[] = [];
  let connections = 0;
  const http = createServer((_request, response) => {
    response.writeHead(400).end("Expected a websocket upgrade.\n");
  });
  const wss = new WebSocketServer({ noServer: true });
  http.on("upgrade", (request: IncomingMessage, stream: Duplex, head: Buffer) => {
    wss.handleUpgrade(request, stream, head, accept);
  });

  function accept(ws: WebSocket) {
    connections += 1;
    const frames: ClientFrame[] = [];
    const joins = new Map<string, string | null>();
    const socket: ScriptedSocket = {
      frames,
      sendRaw: (text) => {
        if (ws.readyState === ws.OPEN) ws.send(text);
      },
      send: (joinRef, ref, topic, event, payload) =>
        socket.sendRaw(JSON.stringify([joinRef, ref, topic, event, payload])),
      reply: (frame, status, response = {}) =>
        socket.send(frame.joinRef, frame.ref, frame.topic, "phx_reply", { status, response }),
      joinRef: (topic) => joins.get(topic) ?? null,
    };
    ws.on("message", (data) => {
      const [joinRef, ref, topic, event, payload] = JSON.parse(String(data)) as [
        string | null,
        string | null,
        string,
        string,
        unknown,
      ];
      const frame = { joinRef, ref, topic, event, payload };
      frames.push(frame);
      if (event === "phx_join") joins.set(topic, joinRef);
      const next = () => answer(socket, frame);
      if (options.onFrame) options.onFrame(socket, frame, next);
      else next();
    });
    for (const resolve of waiting.splice(0)) resolve(socket);
  }

  function answer(socket: ScriptedSocket, frame: ClientFrame) {
    switch (frame.event) {
      case "heartbeat":
      case "phx_leave":
        socket.reply(frame, "ok");
        return;
      case "phx_join":
        socket.reply(frame, "ok");
        options.onJoin?.(socket, frame);
        return;
      case "run":
        if (options.onRun) options.onRun(socket, frame);
        else socket.reply(frame, "ok");
        return;
    }
  }

  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const port = (http.address() as { port: number }).port;
  return {
    socketUrl: `ws://127.0.0.1:${port}/socket`,
    port,
    get connections() {
      return connections;
    },
    nextSocket: () => new Promise((resolve) => waiting.push(resolve)),
    async close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
