export * from "@lenra/client";
export {
  Authenticated,
  AuthLoading,
  createAuthGuard,
  Unauthenticated,
  type UseLenraAuthResult,
  useLenraAuth,
  useLenraConnection,
} from "./auth.ts";
export { type UseListenerResult, useListener } from "./listener.ts";
export { createLenra, type LenraPlugin, useLenraClient } from "./plugin.ts";
export type { Refs } from "./store.ts";
export { type UseLenraViewOptions, type UseLenraViewResult, useLenraView } from "./view.ts";
