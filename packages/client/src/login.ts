export { lenraLogin } from "./auth/lenra-login.ts";
export type { LenraLoginOptions, TokenStorage, TokenStorageOption } from "./auth/options.ts";
export { sendLoginCallbackToOpener } from "./auth/redirect-page.ts";
export type { LenraLogin } from "./auth-state.ts";
