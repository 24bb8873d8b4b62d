import { defineConfig } from "vitest/config";

/**
 * Resolve sibling workspace packages to their TypeScript sources (the `@lenra/source` export
 * condition), so tests run against the code in the tree without a build first.
 */
export const sourceConditions = ["@lenra/source"];

export default defineConfig({
  resolve: { conditions: sourceConditions },
  ssr: { resolve: { conditions: sourceConditions, externalConditions: sourceConditions } },
  test: {
    include: ["test/**/*.test.{ts,tsx}"],
    // Generous: CI runs every package at once on two cores; a hang still fails, later.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
