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

/**
 * Who a connection is, as decided by `authenticate`.
 *
 * @example
 * ```ts
 * authenticate: ({ params }) =>
 *   params.token ? { userId: "alice", roles: ["user"] } : { roles: ["guest"] },
 * ```
 */
export interface SessionIdentity {
  /** The user's id; absent for a guest. */
  readonly userId?: string;
  /** Roles used to filter routes. */
  readonly roles: readonly Role[];
  /** Anything else the backend wants to carry into the session (verified token claims...). */
  readonly claims?: Readonly<Record<string, unknown>>;
}

/**
 * What a backend learns when a session starts (one per websocket connection).
 *
 * @example
 * ```ts
 * openSession(info) {
 *   const theme = info.context.theme; // what the client sent in its socket params
 *   return mySession(info.identity.userId, theme);
 * },
 * ```
 */
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
 *
 * @example
 * ```ts
 * const payload: LenraErrorPayload = {
 *   message: "Internal server error.",
 *   reason: "error_500",
 *   metadata: "Cannot read properties of undefined (reading 'count')",
 *   status_code: 500,
 * };
 * ```
 */
export type LenraErrorPayload = {
  message: string;
  reason: string;
  metadata?: JsonValue;
  status_code?: number;
};

/**
 * An `error` event a route pushes: one error, or a list (Lenra's invalid UI form).
 *
 * @example
 * ```ts
 * sink.error({ message: "The view failed", reason: "view_error" });
 * sink.error({ errors: [{ message: "Invalid UI", reason: "invalid_ui" }] });
 * ```
 */
export type RouteErrorPayload =
  | LenraErrorPayload
  | { errors: { message: string; reason: string }[] };

/**
 * How a backend delivers a route's later results. Results must be given in the order they
 * are meant to be seen and each must be newer than the route's initial result, including
 * results given before `openRoute` settles (they are held back until the join completes).
 * The protocol layer diffs each result against the last one it sent.
 *
 * @example
 * ```ts
 * openRoute(path, sink) {
 *   const off = counter.subscribe((value) => sink.update({ value })); // a patchUi per change
 *   return { initial: { value: counter.value }, close: off };
 * },
 * ```
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

/**
 * An open route, alive until the channel leaves, crashes or its socket closes.
 *
 * @example
 * ```ts
 * return { initial: { items: [] }, close: () => unsubscribe() };
 * ```
 */
export interface RouteHandle {
  /**
   * The first document, pushed as `ui` right after the join reply, and never changed afterwards.
   * `undefined` when the first render failed and the backend reported that through
   * `sink.error`: the next `update` is then pushed as a whole `ui`.
   */
  readonly initial: JsonValue | undefined;
  close(): void | Promise<void>;
}

/**
 * Where a `run` came from.
 *
 * @example
 * ```ts
 * run(code, event, { route }) {
 *   log(`${route} ran ${code}`); // route: "/counter"
 * },
 * ```
 */
export interface RunMeta {
  /** The route whose channel carried the `run`. */
  readonly route: string;
}

/**
 * One connection's session: what it may see, and what its channels ask for.
 *
 * @example
 * ```ts
 * const session: BackendSession = {
 *   routes: () => [{ path: "/counter", view: { _type: "view", name: "counter" }, roles: ["guest"] }],
 *   openRoute: (path) => {
 *     if (path !== "/counter") throw new RouteNotFoundError(path);
 *     return { initial: { value: 0 }, close() {} };
 *   },
 *   run: (code) => {
 *     throw new UnknownListenerError(code);
 *   },
 *   close() {},
 * };
 * ```
 */
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

/**
 * Everything the Lenra socket needs from the side that runs apps: give one to
 * `startProtocolServer`. The dev server's own platform and the test app are two.
 *
 * @example
 * ```ts
 * const backend: LenraBackend = {
 *   authenticate: ({ params }) => (params.app ? { roles: ["guest"] } : refuseConnection("no_app_found")),
 *   openSession: (info) => createMySession(info), // a BackendSession
 * };
 * const server = await startProtocolServer({ backend });
 * ```
 */
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
