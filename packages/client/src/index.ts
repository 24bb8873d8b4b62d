export {
  type AuthState,
  type AuthStatus,
  type LenraAuth,
  type LenraLogin,
  type LenraUser,
  type LoginOptions,
  type LogoutOptions,
  type RedirectCallbackResult,
  whenAuthReady,
} from "./auth-state.ts";
export {
  createLenraClient,
  DEFAULT_SOCKET_ENDPOINT,
  type JsonRoute,
  type LenraClient,
  type LenraClientOptions,
} from "./client.ts";
export type { ConnectionState, ConnectionStatus, WebSocketConstructor } from "./connection.ts";
export {
  LenraArgumentError,
  LenraAuthError,
  LenraError,
  LenraErrorCode,
  type LenraErrorOptions,
  LenraJoinError,
  LenraListenerError,
  LenraListenerTimeoutError,
  LenraPatchError,
  LenraRouteError,
  type LenraRouteErrorOptions,
  type PatchFailure,
  type ServerErrorDetail,
} from "./errors.ts";
export {
  callListener,
  type Hydrated,
  isListener,
  type Listener,
  type ListenerObject,
  type ListenerRunOptions,
} from "./listener.ts";
export {
  ListenerCaller,
  type ListenerCallOptions,
  type ListenerCallState,
  type ListenerConcurrency,
} from "./listener-call.ts";
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
export {
  loadView,
  PENDING_RESULT,
  SKIP,
  shallowEqual,
  ViewObserver,
  type ViewObserverOptions,
  type ViewResult,
} from "./view-observer.ts";
export type { Jsonify, LenraViewData } from "./view-types.ts";
