import type { ReactNode } from "react";
import { type LenraClient, LenraProvider } from "../../src/index.ts";

/** A `renderHook` wrapper that puts `client` in a `<LenraProvider>`. */
export function wrapper(client: LenraClient) {
  return ({ children }: { children: ReactNode }) => (
    <LenraProvider client={client}>{children}</LenraProvider>
  );
}
