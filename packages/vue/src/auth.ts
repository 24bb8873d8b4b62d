import {
  type AuthState,
  type AuthStatus,
  type ConnectionState,
  type LenraAuth,
  type LenraClient,
  whenAuthReady,
} from "@lenra/client";
import { defineComponent } from "vue";
import { useLenraClient } from "./plugin.ts";
import { type Refs, toRefsOf, useStore } from "./store.ts";

/** What `useLenraAuth` returns: refs of the login state, plus `login` and `logout`. */
export interface UseLenraAuthResult extends Refs<AuthState> {
  /** `client.auth.login`, bound. */
  readonly login: LenraAuth["login"];
  /** `client.auth.logout`, bound. */
  readonly logout: LenraAuth["logout"];
}

/**
 * The login state with `login` and `logout`; the first component using it starts the startup
 * checks (stored tokens, a login callback in the URL), so the status defaults to `loading`. A
 * client created without `login: lenraLogin(...)` (from `./login`) is always a `guest`, and its
 * `login()` rejects with a `login_not_configured` error saying how to add one.
 */
export function useLenraAuth(): UseLenraAuthResult {
  const { auth } = useLenraClient();
  return {
    ...toRefsOf(useStore(auth, "useLenraAuth")),
    login: (options) => auth.login(options),
    logout: (options) => auth.logout(options),
  };
}

/** The socket's status and retry info; `idle` (the default) until a view connects it. */
export function useLenraConnection(): Refs<ConnectionState> {
  return toRefsOf(useStore(useLenraClient().connection, "useLenraConnection"));
}

/**
 * A navigation guard that waits until the login state is known, then returns what `check`
 * decides: `router.beforeEach(createAuthGuard(lenra.client, (auth, to) => ...))`; without
 * `check` it lets every navigation through (the default).
 */
export function createAuthGuard<To = unknown, R = undefined>(
  client: LenraClient,
  check?: (auth: AuthState, to: To) => R | Promise<R>,
): (to: To) => Promise<R | undefined> {
  return async (to) => {
    const state = await whenAuthReady(client.auth);
    return check?.(state, to);
  };
}

/*#__NO_SIDE_EFFECTS__*/
function gate(name: string, shows: (status: AuthStatus) => boolean) {
  return defineComponent({
    name,
    setup(_, { slots }) {
      const { status } = useLenraAuth();
      return () => (shows(status.value) ? slots.default?.() : null);
    },
  });
}

/** Renders its default slot only while someone is logged in; nothing by default. */
export const Authenticated = gate("Authenticated", (status) => status === "authenticated");

/** Renders its default slot only for a guest or after a failed login; nothing by default. */
export const Unauthenticated = gate(
  "Unauthenticated",
  (status) => status === "guest" || status === "error",
);

/** Renders its default slot only while the login state is not known yet; nothing by default. */
export const AuthLoading = gate("AuthLoading", (status) => status === "loading");
