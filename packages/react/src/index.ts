"use client";
export * from "@lenra/client";
export {
  Authenticated,
  type AuthGateProps,
  AuthLoading,
  Unauthenticated,
  type UseLenraAuthResult,
  useLenraAuth,
  useLenraConnection,
} from "./auth.ts";
export { type UseListenerResult, useListener } from "./listener.ts";
export { LenraProvider, type LenraProviderProps, useLenraClient } from "./provider.ts";
export {
  type SuspenseViewResult,
  type UseLenraViewOptions,
  useLenraView,
  useSuspenseLenraView,
} from "./view.ts";
