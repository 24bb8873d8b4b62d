/** A compiled route path such as `/items/:id`. */
export interface PathPattern {
  readonly pattern: string;
  /** The decoded `:params` when `path` matches, else `undefined`. */
  match(path: string): Record<string, string> | undefined;
}

/**
 * Compiles a Lenra route path: segments are compared literally except `:name`, which matches
 * one non-empty segment and is returned percent-decoded.
 */
export function compilePathPattern(pattern: string): PathPattern {
  if (typeof pattern !== "string" || !pattern.startsWith("/")) {
    throw new TypeError(`compilePathPattern(pattern): "${pattern}" must start with "/".`);
  }
  const segments = pattern.split("/");
  return {
    pattern,
    match(path) {
      const parts = path.split("/");
      if (parts.length !== segments.length) return undefined;
      const params: Record<string, string> = {};
      for (let i = 0; i < segments.length; i++) {
        const expected = segments[i]!;
        const actual = parts[i]!;
        if (expected.startsWith(":") && expected.length > 1) {
          if (actual === "") return undefined;
          try {
            params[expected.slice(1)] = decodeURIComponent(actual);
          } catch {
            return undefined;
          }
        } else if (expected !== actual) {
          return undefined;
        }
      }
      return params;
    },
  };
}
