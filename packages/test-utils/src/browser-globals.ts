import { afterEach, beforeEach } from "vitest";

/**
 * Makes each of `names` a global that reads as `undefined`, as on a server, for every test of
 * the file, and records who read it. Returns the reads of the current test: the global and the
 * code location that read it.
 */
export function watchBrowserGlobals(names: readonly string[]): () => readonly string[] {
  let touches: string[] = [];
  beforeEach(() => {
    touches = [];
    for (const name of names) {
      Object.defineProperty(globalThis, name, {
        configurable: true,
        get() {
          // Line 0 is the message, 1 this getter, 2 the reader.
          const reader = new Error().stack?.split("\n")[2]?.trim();
          touches.push(`${name} read ${reader}`);
          return undefined;
        },
      });
    }
  });
  afterEach(() => {
    for (const name of names) delete (globalThis as Record<string, unknown>)[name];
  });
  return () => touches;
}
