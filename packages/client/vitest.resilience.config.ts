import { defineConfig } from "vitest/config";
import shared from "../../vitest.shared.ts";

/**
 * The long part of the resilience suite (`pnpm test:resilience`): a dev server killed under open
 * clients, the 10,000-sequence fuzz, the load run. One file at a time: they measure.
 */
export default defineConfig({
  ...shared,
  test: {
    ...shared.test,
    include: ["resilience/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
