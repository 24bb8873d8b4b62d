import type { IncomingHttpHeaders } from "node:http";

/** A decoded query value: a string, a list (`a[]=`) or a nested map (`a[b]=`). */
export type QueryValue = string | QueryValue[] | QueryParams;

/**
 * Decoded query parameters, as Plug gives them to a Phoenix socket's `connect/3`.
 *
 * @example
 * ```ts
 * // ?vsn=2.0.0&app=demo&context[theme]=dark&ids[]=1&ids[]=2
 * const params: QueryParams = { vsn: "2.0.0", app: "demo", context: { theme: "dark" }, ids: ["1", "2"] };
 * ```
 */
export interface QueryParams {
  [key: string]: QueryValue;
}

/**
 * The websocket upgrade request, as `authenticate` sees it before the upgrade completes.
 *
 * @example
 * ```ts
 * authenticate(request) {
 *   const token = typeof request.params.token === "string" ? request.params.token : request.authToken;
 *   return token ? verify(token) : { roles: ["guest"] };
 * },
 * ```
 */
export interface ConnectRequest {
  /** The decoded query, nested like Plug's (`context[a]=1` → `{ context: { a: "1" } }`). */
  readonly params: QueryParams;
  /** The HTTP headers of the upgrade request. */
  readonly headers: IncomingHttpHeaders;
  /**
   * The token the official client sends in `Sec-WebSocket-Protocol` when given its
   * `authToken` option (Phoenix's `:auth_token` connect info). Lenra sends `params.token`.
   */
  readonly authToken: string | undefined;
  /** Path and query of the request. */
  readonly url: string;
  /** Peer address, for logs. */
  readonly remoteAddress: string | undefined;
}

/**
 * A refused connection: the upgrade is answered with HTTP 403, like Phoenix's `:error`.
 *
 * @example
 * ```ts
 * const refusal: ConnectionRefusal = refuseConnection("invalid_token"); // { refused: true, reason: "invalid_token" }
 * ```
 */
export interface ConnectionRefusal {
  readonly refused: true;
  /** Why, for logs and the test event log; never sent to the client. */
  readonly reason: string;
}

/**
 * Builds a {@link ConnectionRefusal}: returned by `authenticate`, it answers the websocket
 * upgrade with HTTP 403, as Phoenix's `connect/3` returning `:error` does.
 *
 * @example
 * ```ts
 * authenticate: (request) =>
 *   request.params.token === "let-me-in" ? { roles: ["user"] } : refuseConnection("invalid_token"),
 * ```
 */
export function refuseConnection(reason: string): ConnectionRefusal {
  return { refused: true, reason };
}

/** True when `authenticate` refused the connection. */
export function isConnectionRefusal(value: unknown): value is ConnectionRefusal {
  return (
    typeof value === "object" && value !== null && (value as ConnectionRefusal).refused === true
  );
}
