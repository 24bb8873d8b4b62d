export {
  type AccessTokenInfo,
  AUTH_PATHS,
  type AuthEndpoints,
  type AuthServer,
  type AuthServerOptions,
  DEFAULT_AUTH_PORT,
  DEFAULT_SCOPE,
  SUPPORTED_SCOPES,
  startAuthServer,
} from "./auth-server.ts";
export { createDevCookieJar, type DevCookieJar } from "./cookie-jar.ts";
export {
  DEFAULT_DEV_CLIENT_ID,
  DEFAULT_DEV_CLIENT_PORTS,
  type DevClientOptions,
  defaultDevClient,
  type ResolvedDevClient,
} from "./dev-clients.ts";
export {
  type CompleteDevLoginOptions,
  completeDevLogin,
  DevLoginError,
  type DevLogoutOptions,
  devLogout,
} from "./dev-login.ts";
export type { PrivateJwks } from "./keys.ts";
export type { AuthServerLogger } from "./logger.ts";
export { DEV_USERNAME_PATTERN } from "./pages.ts";
