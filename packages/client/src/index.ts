export type {
  AuthState,
  AuthStatus,
  LenraAuth,
  LenraUser,
  LoginOptions,
  LogoutOptions,
  RedirectCallbackResult,
} from "./auth/auth.ts";
export type { LenraOAuthOptions, TokenStorage, TokenStorageOption } from "./auth/options.ts";
export { sendLoginCallbackToOpener } from "./auth/popup.ts";
export {
  createLenraClient,
  DEFAULT_SOCKET_ENDPOINT,
  type JsonRoute,
  type LenraClient,
  type LenraClientOptions,
} from "./client.ts";
export type { ConnectionState, ConnectionStatus, WebSocketConstructor } from "./connection.ts";
export {
  LenraAuthError,
  LenraError,
  LenraErrorCode,
  LenraJoinError,
  LenraListenerError,
  LenraListenerTimeoutError,
  LenraPatchError,
  LenraRouteError,
  type PatchFailure,
  type ServerErrorDetail,
} from "./errors.ts";
export { type Hydrated, isListener, type Listener, type ListenerObject } from "./listener.ts";
export type { LenraLogger } from "./logger.ts";
export {
  type AddOperation,
  applyPatch,
  type CopyOperation,
  type JsonPatchOperation,
  type MoveOperation,
  type RemoveOperation,
  type ReplaceOperation,
  type TestOperation,
} from "./patch.ts";
export type { ReadableStore } from "./store.ts";
export type { LenraView, ViewState, ViewStatus } from "./view.ts";
