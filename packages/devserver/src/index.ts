export type {
  BackendSession,
  ConnectionRefusal,
  ConnectRequest,
  JsonRoute,
  LenraBackend,
  Role,
  RouteErrorPayload,
  RouteHandle,
  RouteSink,
  RunMeta,
  SessionIdentity,
  SessionInfo,
} from "./backend.ts";
export { isConnectionRefusal, refuseConnection } from "./backend.ts";
export type { ChannelContext, ChannelHandler, ChannelReply, ChannelRouter } from "./channel.ts";
export { CloseCode } from "./connection.ts";
export type { PatchOperation } from "./diff.ts";
export { diffDocuments } from "./diff.ts";
export type { LenraErrorPayload } from "./errors.ts";
export {
  ErrorReason,
  LenraBackendError,
  ListenerFailedError,
  RouteNotFoundError,
  UnknownListenerError,
} from "./errors.ts";
export type { ProtocolEvent, ProtocolEventData, ProtocolEventType } from "./event-log.ts";
export type { JsonObject, JsonValue } from "./json.ts";
export type { AppListener, ClientListener, ListenerTarget } from "./listener-codes.ts";
export { isAppListener, ListenerCodes, listener, listenerCode } from "./listener-codes.ts";
export type { DevServerLogger } from "./logger.ts";
export type { QueryParams, QueryValue } from "./query.ts";
export { parseQuery, QueryParseError } from "./query.ts";
export type {
  ConnectedSession,
  DisconnectOptions,
  ProtocolServer,
  ProtocolServerOptions,
} from "./server.ts";
export { SERIALIZER_VSN, startProtocolServer } from "./server.ts";
export type {
  ListenerCall,
  ListenerContext,
  TestApp,
  TestAppOptions,
  TestAppStats,
  TestListener,
  TestRoute,
  ViewContext,
} from "./test-app.ts";
export { createTestApp, insecureTestToken } from "./test-app.ts";
export * from "./auth/index.ts";
