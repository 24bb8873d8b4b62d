import type { Log } from "../shared/log.ts";

type OidcProviderModule = typeof import("oidc-provider");

/**
 * The one notice oidc-provider prints to the console while its module loads: on Node 20 it
 * asks for Node 22 although it runs (this package's tests run on Node 20.19+). Library code
 * must not write to the console, so while the module loads that exact line goes to the logger.
 */
const RUNTIME_NOTICE = "oidc-provider WARNING: Unsupported runtime";

let loading: Promise<OidcProviderModule> | undefined;

/**
 * Loads oidc-provider on first use rather than at import, so importing `@lenra/devserver` for
 * its other parts costs nothing and prints nothing.
 */
export function loadOidcProvider(log: Log): Promise<OidcProviderModule> {
  if (loading === undefined) {
    const original = console.warn;
    const notices: string[] = [];
    const filtered = (...args: unknown[]) => {
      if (typeof args[0] === "string" && args[0].includes(RUNTIME_NOTICE)) {
        notices.push(args[0]);
        return;
      }
      original.apply(console, args);
    };
    console.warn = filtered;
    loading = import("oidc-provider").finally(() => {
      // Only put back what we replaced, in case something else wrapped it meanwhile.
      if (console.warn === filtered) console.warn = original;
    });
    loading.then(
      () => {
        for (const notice of notices) log.debug(`auth: ${notice}`);
      },
      () => {
        loading = undefined;
      },
    );
  }
  return loading;
}
