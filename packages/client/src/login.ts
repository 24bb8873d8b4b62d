export { lenraLogin } from "./auth/auth.ts";
export type { LenraLoginOptions, TokenStorage, TokenStorageOption } from "./auth/options.ts";
export { sendLoginCallbackToOpener } from "./auth/popup.ts";
export type { LenraLogin } from "./auth-state.ts";
