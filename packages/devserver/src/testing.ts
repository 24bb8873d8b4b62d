/**
 * `@lenra/devserver/testing`: what a client's tests need around a Lenra socket. An in-process
 * app served by the dev server's own platform (`createTestApp`, `listener`), test-only socket
 * tokens (`insecureTestToken`), a real OAuth server on Hydra's paths (`startAuthServer`) with
 * helpers that play the browser through its login and logout (`completeDevLogin`,
 * `devLogout`), and the data store the dev server keeps in its data file (`createDataStore`).
 * Serve a test app with `startProtocolServer` from `@lenra/devserver/protocol`.
 */
export { listener } from "./app/listeners.ts";
export type { AccessTokenInfo, AuthServer, AuthServerOptions } from "./auth/auth-server.ts";
export { startAuthServer } from "./auth/auth-server.ts";
export type { DataStoreOptions } from "./data/store.ts";
export { createDataStore, type DataStore } from "./data/store.ts";
export { insecureTestToken } from "./lenra/platform.ts";
export type { SavedSection } from "./shared/saved-section.ts";
export type { CompleteDevLoginOptions, DevLogoutOptions } from "./testing/dev-login.ts";
export { completeDevLogin, DevLoginError, devLogout } from "./testing/dev-login.ts";
export type {
  ListenerCall,
  ListenerContext,
  TestListener,
  TestRoute,
  ViewContext,
} from "./testing/in-process-app.ts";
export type { TestApp, TestAppOptions, TestAppStats } from "./testing/test-app.ts";
export { createTestApp } from "./testing/test-app.ts";
