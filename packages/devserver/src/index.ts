/**
 * `@lenra/devserver`: a local Lenra around a `@lenra/app` app. `startDevServer` runs the app,
 * its data, an OAuth server and the Lenra socket; `DevServerError` says why it could not.
 * Test helpers are in `@lenra/devserver/testing`, the socket layer for a backend of your own in
 * `@lenra/devserver/protocol`.
 */
export type { Manifest } from "./app/manifest.ts";
export type { AuthEndpoints } from "./auth/auth-server.ts";
export type { DevClientOptions, ResolvedDevClient } from "./auth/dev-clients.ts";
export type { DataStore } from "./data/store.ts";
export type { DevServer, DevServerStats } from "./server/dev-server.ts";
export { startDevServer } from "./server/dev-server.ts";
export type { DevServerOptions } from "./server/startup.ts";
export { DEFAULT_DEV_SERVER_PORT, DevServerErrorReason } from "./server/startup.ts";
export { DevServerError } from "./shared/errors.ts";
export type { DevServerLogger } from "./shared/log.ts";
