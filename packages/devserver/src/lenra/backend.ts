import type { JsonRoute, Role } from "../app/manifest.ts";
import type { ConnectionRefusal, ConnectRequest, QueryParams } from "../protocol/connect.ts";
import type { JsonObject, JsonValue } from "../shared/json.ts";

export type { JsonRoute, Role } from "../app/manifest.ts";
export type { ConnectionRefusal, ConnectRequest } from "../protocol/connect.ts";

/**
 * The seam between the Lenra socket (Phoenix, the route and routes channels) and whatever
 * produces views: the Lenra platform of this package (platform.ts), or a backend of your own.
 * The channels know nothing of apps; a backend knows nothing of frames.
 *
 * Expected failures are reported by throwing a `LenraBackendError` (see errors.ts); anything
 * else thrown is handled as a crash, the way Phoenix handles a crashing process.
 */

/** Who a connection is, as decided by `authenticate`. */
export interface SessionIdentity {
  /** The user's id; absent for a guest. */
  readonly userId?: string;
  /** Roles used to filter routes. */
  readonly roles: readonly Role[];
  /** Anything else the backend wants to carry into the session (verified token claims...). */
  readonly claims?: Readonly<Record<string, unknown>>;
}

/** What a backend learns when a session starts (one per websocket connection). */
export interface SessionInfo {
  /** Unique per connection: a reconnect is a new session, as on Lenra. */
  readonly sessionId: string;
  readonly identity: SessionIdentity;
  /** Every decoded query parameter (including `token`, `app`, `vsn`). */
  readonly params: QueryParams;
  /** The `context` parameter when it is a map, else `{}`. Views receive it. */
  readonly context: JsonObject;
  /** The `app` parameter, absent when the client is bound to one app. */
  readonly app: string | undefined;
}

/**
 * The `{ message, reason, metadata }` shape Lenra uses for errors in replies and pushes. Its
 * error structs also carry `status_code`, which reaches the client wherever Lenra sends the
 * struct itself (a refused join, a failed run's reply) and not in the `error` events it
 * translates first.
 */
export type LenraErrorPayload = {
  message: string;
  reason: string;
  metadata?: JsonValue;
  status_code?: number;
};

/** An `error` event a route pushes: one error, or a list (Lenra's invalid UI form). */
export type RouteErrorPayload =
  | LenraErrorPayload
  | { errors: { message: string; reason: string }[] };

/**
 * How a backend delivers a route's later results. Results must be given in the order they
 * are meant to be seen and each must be newer than the route's initial result, including
 * results given before `openRoute` settles (they are held back until the join completes).
 * The protocol layer diffs each result against the last one it sent.
 */
export interface RouteSink {
  /**
   * A new whole document for the route, listeners already encoded. It must never be changed
   * afterwards: the protocol layer shares its copy and diffs between every channel given the
   * same object.
   */
  update(document: JsonValue): void;
  /** Pushes an `error` event on the route's channel. */
  error(payload: RouteErrorPayload): void;
  /** True once the channel is gone; later calls are ignored. */
  readonly closed: boolean;
}

/** An open route, alive until the channel leaves, crashes or its socket closes. */
export interface RouteHandle {
  /**
   * The first document, pushed as `ui` right after the join reply, and never changed afterwards.
   * `undefined` when the first render failed and the backend reported that through
   * `sink.error`: the next `update` is then pushed as a whole `ui`.
   */
  readonly initial: JsonValue | undefined;
  close(): void | Promise<void>;
}

/** Where a `run` came from. */
export interface RunMeta {
  /** The route whose channel carried the `run`. */
  readonly route: string;
}

/** One connection's session. */
export interface BackendSession {
  /** The routes this session may join, already filtered by its roles. */
  routes(): JsonRoute[] | Promise<JsonRoute[]>;
  /**
   * The app's Lenra-component routes (the manifest's `lenra.routes`) this session may see,
   * listed by the `routes` topic in `lenra` mode; none when absent. No backend renders them.
   */
  lenraRoutes?(): JsonValue[] | Promise<JsonValue[]>;
  /**
   * Opens a route for this session. Throw `RouteNotFoundError` (or another
   * `LenraBackendError`) to refuse the join with `{ message, reason, metadata }`.
   */
  openRoute(path: string, sink: RouteSink): RouteHandle | Promise<RouteHandle>;
  /**
   * Runs the listener behind `code` (`event` is what the client sent, possibly undefined).
   * Settle only once the resulting updates were handed to the sinks, so clients see the new
   * view before the reply. Throw `UnknownListenerError` for a code this session never
   * rendered, another `LenraBackendError` when the listener failed.
   */
  run(code: string, event: unknown, meta: RunMeta): void | Promise<void>;
  /** The connection closed; release everything. */
  close(): void | Promise<void>;
}

/** Everything the protocol layer needs from the side that runs apps. */
export interface LenraBackend {
  /**
   * Decides who connects, before the websocket upgrade completes. Return a
   * {@link ConnectionRefusal} to answer HTTP 403 (a browser sees close code 1006).
   */
  authenticate(
    request: ConnectRequest,
  ): SessionIdentity | ConnectionRefusal | Promise<SessionIdentity | ConnectionRefusal>;
  /** Starts the session of an accepted connection, still before the upgrade completes. */
  openSession(info: SessionInfo): BackendSession | Promise<BackendSession>;
}
