"use client";
import type { AuthState, ConnectionState, LenraAuth } from "@lenra/client";
import { createElement, Fragment, type ReactElement, type ReactNode, useMemo } from "react";
import { useLenraClient } from "./provider.ts";
import { useStore } from "./store.ts";

export interface UseLenraAuthResult extends AuthState {
  /** `client.auth.login`, the same function for the component's lifetime. */
  readonly login: LenraAuth["login"];
  /** `client.auth.logout`, the same function for the component's lifetime. */
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

/** The socket's status and retry info; `idle` (the default) until a view connects it. */
export function useLenraConnection(): ConnectionState {
  return useStore(useLenraClient().connection);
}

export interface AuthGateProps {
  children?: ReactNode;
}

/** Renders its children only while someone is logged in; nothing by default. */
export function Authenticated({ children }: AuthGateProps): ReactElement | null {
  return useLenraAuth().status === "authenticated" ? createElement(Fragment, null, children) : null;
}

/** Renders its children only for a guest or after a failed login; nothing by default. */
export function Unauthenticated({ children }: AuthGateProps): ReactElement | null {
  const { status } = useLenraAuth();
  return status === "guest" || status === "error" ? createElement(Fragment, null, children) : null;
}

/** Renders its children only while the login state is not known yet; nothing by default. */
export function AuthLoading({ children }: AuthGateProps): ReactElement | null {
  return useLenraAuth().status === "loading" ? createElement(Fragment, null, children) : null;
}
