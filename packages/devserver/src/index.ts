export type { AppClient, AppClientOptions } from "./app-client.ts";
export { AppRequestError, AppRequestErrorReason, createAppClient } from "./app-client.ts";
export type {
  AppLaunch,
  AppLaunchOptions,
  AppProcess,
  AppProcessOptions,
  ExitHooksOptions,
  HookableProcess,
  Stoppable,
} from "./app-process.ts";
export {
  AppProcessError,
  AppProcessErrorReason,
  installExitHooks,
  planAppLaunch,
  startAppProcess,
} from "./app-process.ts";
export * from "./auth/index.ts";
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
export * from "./data/index.ts";
export type { DevServer, DevServerOptions, DevServerStats } from "./dev-server.ts";
export {
  DEFAULT_DEV_SERVER_PORT,
  DevServerError,
  DevServerErrorReason,
  startDevServer,
} from "./dev-server.ts";
export type { PatchOperation } from "./diff.ts";
export { diffDocuments } from "./diff.ts";
export type { LenraErrorPayload } from "./errors.ts";
export {
  appFailure,
  ErrorReason,
  IncorrectViewModeError,
  LenraBackendError,
  ListenerFailedError,
  RouteNotFoundError,
  UnknownListenerError,
} from "./errors.ts";
export type { ProtocolEvent, ProtocolEventData, ProtocolEventType } from "./event-log.ts";
export type { JsonObject, JsonValue } from "./json.ts";
export type {
  LenraAppBackendOptions,
  LenraAppBackendStats,
  VerifyAccessToken,
} from "./lenra-app-backend.ts";
export { LenraAppBackend, SystemListener } from "./lenra-app-backend.ts";
export type { AppListener, ClientListener, ListenerTarget } from "./listener-codes.ts";
export { isAppListener, ListenerCodes, listener, listenerCode } from "./listener-codes.ts";
export type { DevServerLogger } from "./logger.ts";
export type {
  FindSpec,
  LenraComponentRoute,
  ManifestRoute,
  RouteMatch,
  ViewSpec,
} from "./manifest.ts";
export { Manifest, ManifestError, parseManifest } from "./manifest.ts";
export type { QueryParams, QueryValue } from "./query.ts";
export { parseQuery, QueryParseError } from "./query.ts";
export type { RouteParam } from "./route-path.ts";
export { matchRoutePath, parseRouteParam } from "./route-path.ts";
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
