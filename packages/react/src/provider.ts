"use client";
import type { LenraClient } from "@lenra/client";
import { createContext, createElement, type ReactNode, useContext } from "react";

const LenraContext = createContext<LenraClient | null>(null);

export interface LenraProviderProps {
  /** The client every hook below uses, from `createLenraClient()`. */
  client: LenraClient;
  children?: ReactNode;
}

/** Makes `client` available to the Lenra hooks and gates below it; no default client is created. */
export function LenraProvider({ client, children }: LenraProviderProps) {
  return createElement(LenraContext.Provider, { value: client }, children);
}

/** The client of the nearest `<LenraProvider>`; throws when there is none (there is no default). */
export function useLenraClient(): LenraClient {
  const client = useContext(LenraContext);
  if (!client) {
    throw new Error(
      "useLenraClient: no Lenra client here. Wrap your app in <LenraProvider client={createLenraClient(...)}>.",
    );
  }
  return client;
}
