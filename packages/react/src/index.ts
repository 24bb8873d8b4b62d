/**
 * React hooks for Lenra JSON views: a provider, live route data with `select` and Suspense,
 * listener calls with pending and optimistic states, login state and gates.
 *
 * Everything `@lenra/client` exports is re-exported, so an app depends on this package alone;
 * the login lives in `@lenra/react/login`, so a guest-only app bundles none of it.
 *
 * @example
 * ```tsx
 * import { createLenraClient, LenraProvider, useLenraView } from "@lenra/react";
 *
 * const lenra = createLenraClient({ appName: "counter-app" });
 *
 * function Counter() {
 *   const { data } = useLenraView<{ value: number }>("/counter/global");
 *   return <p>{data?.value ?? "…"}</p>;
 * }
 *
 * export const App = () => (
 *   <LenraProvider client={lenra}>
 *     <Counter />
 *   </LenraProvider>
 * );
 * ```
 * @see PROTOCOL.md, the wire protocol and app contract the client speaks.
 * @packageDocumentation
 */
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
