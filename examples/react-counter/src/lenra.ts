import { createLenraClient } from "@lenra/react";

const env = import.meta.env;

/** The app's one client: it owns the socket, the login and every route subscription. */
export const lenra = createLenraClient({
  appName: "counter-app",
  clientId: env.VITE_LENRA_CLIENT_ID || "lenra-dev",
  socketEndpoint: env.VITE_LENRA_SOCKET || "ws://127.0.0.1:4001/socket",
  oauth: {
    baseUri: env.VITE_LENRA_AUTH || "http://127.0.0.1:4444",
    // The client accepts http:// on a loopback host only.
    allowInsecureRequests: true,
    // openid for the user id (`sub`), offline_access for refresh tokens.
    scopes: ["openid", "app:websocket", "offline_access"],
  },
});

// The client completes a redirect login by itself, then puts the address bar back where login()
// was called with history.replaceState, which fires no hashchange: this shares that very call
// (same URL, same promise) to tell the router once it is done.
if (lenra.auth.isRedirectCallback()) {
  const done = () => window.dispatchEvent(new HashChangeEvent("hashchange"));
  lenra.auth.handleRedirectCallback().then(done, done);
}
