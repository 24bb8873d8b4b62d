import { sendLoginCallbackToOpener } from "@lenra/react/login";

// In the login popup: hand the callback URL to the app that opened it, and close.
// After a full-page redirect: start the app, whose client completes the login.
if (!sendLoginCallbackToOpener()) void import("./main.tsx");
