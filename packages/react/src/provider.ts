"use client";
import type { LenraClient } from "@lenra/client";
import { createContext, createElement, type ReactNode, useContext } from "react";

const LenraContext = createContext<LenraClient | null>(null);

/** Props of {@link LenraProvider}. */
export interface LenraProviderProps {
  /** The client every hook below uses, from `createLenraClient()`. */
  client: LenraClient;
  children?: ReactNode;
}

/**
 * Makes `client` available to the Lenra hooks and gates below it; no default client is created.
 *
 * It never disposes the client, which usually outlives it: call `client.dispose()` when the
 * client's life ends (after a test, when a micro-frontend unmounts, on hot module replacement).
 *
 * @example
 * ```tsx
 * const lenra = createLenraClient({ appName: "counter-app" });
 * import.meta.hot?.dispose(() => lenra.dispose());
 *
 * createRoot(document.getElementById("root")!).render(
 *   <LenraProvider client={lenra}>
 *     <App />
 *   </LenraProvider>,
 * );
 * ```
 * @see `createLenraClient` for the client's options.
 */
export function LenraProvider({ client, children }: LenraProviderProps) {
  return createElement(LenraContext.Provider, { value: client }, children);
}

/**
 * The client of the nearest `<LenraProvider>`; throws when there is none (there is no default).
 *
 * @example
 * ```tsx
 * function Reconnect() {
 *   const lenra = useLenraClient();
 *   return <button onClick={() => lenra.connect()}>Reconnect</button>;
 * }
 * ```
 * @see {@link LenraClient} for what it offers.
 */
export function useLenraClient(): LenraClient {
  const client = useContext(LenraContext);
  if (!client) {
    throw new Error(
      "useLenraClient: no Lenra client here. Wrap your app in <LenraProvider client={createLenraClient(...)}>.",
    );
  }
  return client;
}
