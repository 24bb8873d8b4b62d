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

/** What {@link useLenraAuth} returns: refs of the login state, plus `login` and `logout`. */
export interface UseLenraAuthResult extends Refs<AuthState> {
  /** `client.auth.login`, bound. */
  readonly login: LenraAuth["login"];
  /** `client.auth.logout`, bound. */
  readonly logout: LenraAuth["logout"];
}

/**
 * The login state as refs with `login` and `logout`, each ref updating when its value changes.
 *
 * The first component using it starts the startup checks (stored tokens, a login callback in
 * the URL), so the status defaults to `loading`, then becomes `guest` or `authenticated`. A
 * client created without `login: lenraLogin(...)` (from `@lenra/vue/login`) is always a
 * `guest`, and its `login()` rejects with an error saying how to add one.
 *
 * @returns Refs of `status`, `user` and `error`, with `login` and `logout`, bound to the client.
 * @example
 * ```vue
 * <script setup lang="ts">
 * const { status, user, login, logout } = useLenraAuth();
 * </script>
 *
 * <template>
 *   <p v-if="status === 'loading'">…</p>
 *   <button v-else-if="status !== 'authenticated'" @click="login()">Log in</button>
 *   <button v-else @click="logout()">Log out {{ user?.sub }}</button>
 * </template>
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7636 (the PKCE login it starts) and PROTOCOL.md §1.
 * @see {@link LenraAuth}, the core login state and actions.
 */
export function useLenraAuth(): UseLenraAuthResult {
  const { auth } = useLenraClient();
  return {
    ...toRefsOf(useStore(auth, "useLenraAuth")),
    login: (options) => auth.login(options),
    logout: (options) => auth.logout(options),
  };
}

/**
 * The socket's status and retry info as refs, each updating when its value changes; `idle` (the
 * default) until a view connects it.
 *
 * @returns Refs of `status` (`idle`, `connecting`, `open`, `reconnecting` or `closed`),
 *   `attempt` (failed attempts in a row) and `nextRetryAt` (epoch milliseconds, while
 *   `reconnecting`).
 * @example
 * ```vue
 * <script setup lang="ts">
 * const { status, nextRetryAt } = useLenraConnection();
 * </script>
 *
 * <template>
 *   <p v-if="status === 'reconnecting'">
 *     Offline, retrying at {{ new Date(nextRetryAt ?? Date.now()).toLocaleTimeString() }}
 *   </p>
 * </template>
 * ```
 * @see PROTOCOL.md §2 (the socket).
 * @see {@link LenraClient.connection}, the core store it reads.
 */
export function useLenraConnection(): Refs<ConnectionState> {
  return toRefsOf(useStore(useLenraClient().connection, "useLenraConnection"));
}

/**
 * A navigation guard that waits until the login state is known, then returns what `check`
 * decides; it needs no vue-router dependency.
 *
 * @param client - The client whose login state it waits for, such as `createLenra(...).client`.
 * @param check - Decides from the login state and the target route, as a vue-router guard would
 *   return (`true`, `false` or a location); defaults to none, which lets every navigation through.
 * @returns A guard for `router.beforeEach()`, or for a Nuxt route middleware.
 * @example
 * ```ts
 * router.beforeEach(
 *   createAuthGuard(lenra, (auth, to) =>
 *     to.meta.private && auth.status !== "authenticated" ? "/login" : true,
 *   ),
 * );
 * ```
 * @see {@link whenAuthReady}, the core promise it waits on.
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

/**
 * Renders its default slot only while someone is logged in; nothing by default.
 *
 * @example
 * ```vue
 * <Authenticated>
 *   <MyCounter />
 * </Authenticated>
 * ```
 * @see {@link useLenraAuth}, whose `status` it reads (`authenticated`).
 */
export const Authenticated = gate("Authenticated", (status) => status === "authenticated");

/**
 * Renders its default slot only for a guest or after a failed login; nothing by default.
 *
 * @example
 * ```vue
 * <Unauthenticated>
 *   <LoginButton />
 * </Unauthenticated>
 * ```
 * @see {@link useLenraAuth}, whose `status` it reads (`guest` or `error`).
 */
export const Unauthenticated = gate(
  "Unauthenticated",
  (status) => status === "guest" || status === "error",
);

/**
 * Renders its default slot only while the login state is not known yet; nothing by default.
 *
 * @example
 * ```vue
 * <AuthLoading>
 *   <p>Checking your session…</p>
 * </AuthLoading>
 * ```
 * @see {@link useLenraAuth}, whose `status` it reads (`loading`).
 */
export const AuthLoading = gate("AuthLoading", (status) => status === "loading");
