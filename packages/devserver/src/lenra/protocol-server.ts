import { randomUUID } from "node:crypto";
import type { ChannelRouter } from "../protocol/channel.ts";
import {
  type ConnectionRefusal,
  type ConnectRequest,
  isConnectionRefusal,
  refuseConnection,
} from "../protocol/connect.ts";
import {
  type AcceptedConnection,
  PhoenixSocketServer,
  type SocketServerControls,
  type SocketServerOptions,
} from "../protocol/socket-server.ts";
import { isPlainObject, type JsonObject } from "../shared/json.ts";
import { createLog, describeError } from "../shared/log.ts";
import type { LenraBackend, Role, SessionInfo } from "./backend.ts";
import { LenraBackendError } from "./errors.ts";
import { type LenraAssigns, RouteChannel } from "./route-channel.ts";
import { RoutesChannel } from "./routes-channel.ts";
import { SharedDocuments } from "./shared-documents.ts";

export type { DisconnectOptions } from "../protocol/socket-server.ts";

/**
 * Options of {@link startProtocolServer}.
 *
 * @example
 * ```ts
 * const server = await startProtocolServer({ backend, port: 0, idleTimeoutMs: 30_000 });
 * ```
 */
export interface ProtocolServerOptions
  extends Omit<SocketServerOptions<LenraAssigns>, "router" | "connect" | "release"> {
  /** Decides who connects and produces the views. */
  backend: LenraBackend;
}

/**
 * One connected socket, as {@link ProtocolServer.sessions} reports it.
 *
 * @example
 * ```ts
 * server.sessions(); // [{ socketId: "socket-1", userId: "alice", roles: ["user"], topics: ["route:/counter"], ... }]
 * ```
 */
export interface ConnectedSession {
  socketId: string;
  sessionId: string;
  userId: string | undefined;
  roles: readonly Role[];
  context: JsonObject;
  /** Topics joined on this socket. */
  topics: string[];
}

/**
 * A running Lenra socket server and the controls tests drive it with.
 *
 * @example
 * ```ts
 * const server = await startProtocolServer({ backend });
 * const client = createLenraClient({ appName: "demo", socketEndpoint: server.socketUrl });
 * await server.until(() => server.count("join", "route:/counter") === 1);
 * server.push("route:/counter", "error", { message: "Injected", reason: "test" });
 * await server.close();
 * ```
 */
export interface ProtocolServer extends SocketServerControls {
  /** Every open socket with its identity and joined topics. */
  sessions(): ConnectedSession[];
}

/**
 * Starts a Phoenix (serializer v2) socket server speaking the Lenra protocol over `backend`,
 * listening on 127.0.0.1 on a free port by default: the `route:<path>` and `routes` topics,
 * the session `backend` opens for each socket, and the controls tests use.
 *
 * @example
 * ```ts
 * import { createTestApp, listener } from "@lenra/devserver/testing";
 * import { startProtocolServer } from "@lenra/devserver/protocol";
 *
 * const app = createTestApp({
 *   state: { count: 0 },
 *   routes: { "/counter": { roles: ["guest"], view: (s) => ({ value: s.count, onAdd: listener("add") }) } },
 *   listeners: { add: (s) => void s.count++ },
 * });
 * const server = await startProtocolServer({ backend: app });
 * server.socketUrl; // ws://127.0.0.1:<port>/socket
 * ```
 * @see PROTOCOL.md §2–4
 */
export async function startProtocolServer(options: ProtocolServerOptions): Promise<ProtocolServer> {
  if (!options || typeof options.backend !== "object" || options.backend === null) {
    throw new TypeError("startProtocolServer(options): `options.backend` is required.");
  }
  const server = new LenraSocketServer(options);
  await server.listen();
  return server;
}

/** Routes Lenra's topics to their channels; everything else is `unmatched topic`. */
const lenraChannelRouter: ChannelRouter<LenraAssigns> = (topic) => {
  if (topic.startsWith("route:")) return (context) => new RouteChannel(context);
  if (topic === "routes") return (context) => new RoutesChannel(context);
  return undefined;
};

class LenraSocketServer extends PhoenixSocketServer<LenraAssigns> implements ProtocolServer {
  constructor(options: ProtocolServerOptions) {
    const { backend, ...rest } = options;
    const log = createLog(options.logger);
    // Copies, diffs and payloads shared by the channels of every socket of this server.
    const documents = new SharedDocuments();
    super({
      ...rest,
      router: lenraChannelRouter,
      connect: (request) => openSession(backend, request, documents),
      release: ({ session }) => {
        try {
          Promise.resolve(session.close()).catch((error: unknown) =>
            log.error("closing a session failed", { error: describeError(error) }),
          );
        } catch (error) {
          log.error("closing a session failed", { error: describeError(error) });
        }
      },
    });
  }

  sessions(): ConnectedSession[] {
    return this.connections().map(({ socketId, assigns: { info }, topics }) => ({
      socketId,
      sessionId: info.sessionId,
      userId: info.identity.userId,
      roles: info.identity.roles,
      context: info.context,
      topics,
    }));
  }
}

/** Authenticates a connection and opens its session, as Phoenix's `connect/3` would. */
async function openSession(
  backend: LenraBackend,
  request: ConnectRequest,
  documents: SharedDocuments,
): Promise<AcceptedConnection<LenraAssigns> | ConnectionRefusal> {
  try {
    const identity = await backend.authenticate(request);
    if (isConnectionRefusal(identity)) return identity;
    const { params } = request;
    const info: SessionInfo = {
      sessionId: randomUUID(),
      identity,
      params,
      context: isPlainObject(params.context) ? (params.context as JsonObject) : {},
      app: typeof params.app === "string" ? params.app : undefined,
    };
    const session = await backend.openSession(info);
    return {
      assigns: { session, info, documents },
      sessionId: info.sessionId,
      userId: identity.userId,
      roles: identity.roles,
    };
  } catch (error) {
    // An expected refusal (a system listener failed...) is Phoenix's `:error`: HTTP 403.
    if (error instanceof LenraBackendError) return refuseConnection(error.message);
    throw error;
  }
}
