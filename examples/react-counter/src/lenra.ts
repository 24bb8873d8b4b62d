import { createLenraClient } from "@lenra/react";
import { lenraLogin } from "@lenra/react/login";

const env = import.meta.env;

/** The app's one client: it owns the socket, the login and every route subscription. */
export const lenra = createLenraClient({
  appName: env.VITE_LENRA_APP || "counter-app",
  socketEndpoint: env.VITE_LENRA_SOCKET || "ws://127.0.0.1:4001/socket",
  // Leave `login` out for a guest-only app: then no login code is bundled at all.
  login: lenraLogin({
    clientId: env.VITE_LENRA_CLIENT_ID || "lenra-dev",
    baseUri: env.VITE_LENRA_AUTH || "http://127.0.0.1:4444",
    // The client accepts http:// on a loopback host only.
    allowInsecureRequests: true,
    // openid for the user id (`sub`), offline_access for refresh tokens.
    scopes: ["openid", "app:websocket", "offline_access"],
    // Where "Log out" comes back to once the login server ended its session too (registered
    // with the OAuth client, as the redirect URI is): a path of the page's origin.
    postLogoutRedirectUri: "/",
  }),
});

// The client completes a redirect login by itself, then puts the address bar back where login()
// was called with history.replaceState, which fires no hashchange: this shares that very call
// (same URL, same promise) to tell the router once it is done.
if (lenra.auth.isRedirectCallback()) {
  const done = () => window.dispatchEvent(new HashChangeEvent("hashchange"));
  lenra.auth.handleRedirectCallback().then(done, done);
}

// Vite's hot module replacement: the client this module made is shut down (socket, timers,
// listeners) before the new module makes its own.
import.meta.hot?.dispose(() => lenra.dispose());
