"use client";
import type { AuthState, ConnectionState, LenraAuth } from "@lenra/client";
import { createElement, Fragment, type ReactElement, type ReactNode, useMemo } from "react";
import { useLenraClient } from "./provider.ts";
import { useStore } from "./store.ts";

/** What {@link useLenraAuth} returns: the login state, plus `login` and `logout`. */
export interface UseLenraAuthResult extends AuthState {
  /** `client.auth.login`, the same function for the component's lifetime. */
  readonly login: LenraAuth["login"];
  /** `client.auth.logout`, the same function for the component's lifetime. */
  readonly logout: LenraAuth["logout"];
}

/**
 * The login state with `login` and `logout`, re-rendering when it changes.
 *
 * The first component using it starts the startup checks (stored tokens, a login callback in
 * the URL), so the status defaults to `loading`, then becomes `guest` or `authenticated`. A
 * client created without `login: lenraLogin(...)` (from `@lenra/react/login`) is always a
 * `guest`, and its `login()` rejects with an error saying how to add one.
 *
 * @returns `status`, `user` and `error`, with `login` and `logout`, the same functions for the
 *   component's lifetime.
 * @example
 * ```tsx
 * function Account() {
 *   const { status, user, login, logout } = useLenraAuth();
 *   if (status === "loading") return <p>…</p>;
 *   if (status !== "authenticated") return <button onClick={() => login()}>Log in</button>;
 *   return <button onClick={() => logout()}>Log out {user?.sub}</button>;
 * }
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7636 (the PKCE login it starts) and PROTOCOL.md §1.
 * @see {@link LenraAuth}, the core login state and actions.
 */
export function useLenraAuth(): UseLenraAuthResult {
  const { auth } = useLenraClient();
  const state = useStore(auth);
  const actions = useMemo(
    () => ({
      login: (options?: Parameters<LenraAuth["login"]>[0]) => auth.login(options),
      logout: (options?: Parameters<LenraAuth["logout"]>[0]) => auth.logout(options),
    }),
    [auth],
  );
  return { ...state, ...actions };
}

/**
 * The socket's status and retry info, re-rendering when they change; `idle` (the default) until
 * a view connects it.
 *
 * @returns `status` (`idle`, `connecting`, `open`, `reconnecting` or `closed`), `attempt` (failed
 *   attempts in a row) and `nextRetryAt` (epoch milliseconds, while `reconnecting`).
 * @example
 * ```tsx
 * function ConnectionBanner() {
 *   const { status, nextRetryAt } = useLenraConnection();
 *   if (status !== "reconnecting") return null;
 *   return <p>Offline, retrying at {new Date(nextRetryAt ?? Date.now()).toLocaleTimeString()}</p>;
 * }
 * ```
 * @see PROTOCOL.md §2 (the socket).
 * @see `LenraClient.connection`, the core store it reads.
 */
export function useLenraConnection(): ConnectionState {
  return useStore(useLenraClient().connection);
}

/** Props of {@link Authenticated}, {@link Unauthenticated} and {@link AuthLoading}. */
export interface AuthGateProps {
  children?: ReactNode;
}

/**
 * Renders its children only while someone is logged in; nothing by default.
 *
 * @example
 * ```tsx
 * <Authenticated>
 *   <MyCounter />
 * </Authenticated>
 * ```
 * @see {@link useLenraAuth}, whose `status` it reads (`authenticated`).
 */
export function Authenticated({ children }: AuthGateProps): ReactElement | null {
  return useLenraAuth().status === "authenticated" ? createElement(Fragment, null, children) : null;
}

/**
 * Renders its children only for a guest or after a failed login; nothing by default.
 *
 * @example
 * ```tsx
 * <Unauthenticated>
 *   <LoginButton />
 * </Unauthenticated>
 * ```
 * @see {@link useLenraAuth}, whose `status` it reads (`guest` or `error`).
 */
export function Unauthenticated({ children }: AuthGateProps): ReactElement | null {
  const { status } = useLenraAuth();
  return status === "guest" || status === "error" ? createElement(Fragment, null, children) : null;
}

/**
 * Renders its children only while the login state is not known yet; nothing by default.
 *
 * @example
 * ```tsx
 * <AuthLoading>
 *   <p>Checking your session…</p>
 * </AuthLoading>
 * ```
 * @see {@link useLenraAuth}, whose `status` it reads (`loading`).
 */
export function AuthLoading({ children }: AuthGateProps): ReactElement | null {
  return useLenraAuth().status === "loading" ? createElement(Fragment, null, children) : null;
}
