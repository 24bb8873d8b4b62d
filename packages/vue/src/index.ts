/**
 * Vue composables for Lenra JSON views: a plugin, live route data as refs with `select` and
 * Suspense, listener calls with pending and optimistic states, login state, gates and a router
 * guard.
 *
 * Everything `@lenra/client` exports is re-exported, so an app depends on this package alone;
 * the login lives in `@lenra/vue/login`, so a guest-only app bundles none of it.
 *
 * @example
 * ```ts
 * // main.ts
 * import { createLenra, createLenraClient } from "@lenra/vue";
 * import { createApp } from "vue";
 * import App from "./App.vue";
 *
 * const lenra = createLenraClient({ appName: "counter-app" });
 * createApp(App).use(createLenra(lenra)).mount("#app");
 * // App.vue: const { data } = useLenraView<{ value: number }>("/counter/global");
 * ```
 * @see PROTOCOL.md, the wire protocol and app contract the client speaks.
 * @packageDocumentation
 */
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
