/**
 * `@lenra/devserver/protocol`: the Lenra socket for those who build their own backend.
 * `startProtocolServer` speaks Phoenix channels (serializer v2) and Lenra's `route:<path>` and
 * `routes` topics; a `LenraBackend` decides who connects, what each route shows and what a
 * listener code does, and reports expected failures as `LenraBackendError`s.
 */
export type { JsonRoute, Role } from "./app/manifest.ts";
export type {
  BackendSession,
  ConnectionRefusal,
  ConnectRequest,
  LenraBackend,
  RouteErrorPayload,
  RouteHandle,
  RouteSink,
  RunMeta,
  SessionIdentity,
  SessionInfo,
} from "./lenra/backend.ts";
export type { LenraErrorPayload } from "./lenra/errors.ts";
export {
  ErrorReason,
  LenraBackendError,
  ListenerFailedError,
  RouteNotFoundError,
  UnknownListenerError,
} from "./lenra/errors.ts";
export type {
  ConnectedSession,
  DisconnectOptions,
  ProtocolServer,
  ProtocolServerOptions,
} from "./lenra/protocol-server.ts";
export { startProtocolServer } from "./lenra/protocol-server.ts";
export type { QueryParams } from "./protocol/connect.ts";
export { refuseConnection } from "./protocol/connect.ts";
export type { ProtocolEvent, ProtocolEventType } from "./protocol/event-log.ts";
export type { JsonObject, JsonValue } from "./shared/json.ts";
