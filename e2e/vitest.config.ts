import { defineConfig, mergeConfig } from "vitest/config";
import shared from "../vitest.shared.ts";

export default mergeConfig(
  shared,
  defineConfig({
    test: {
      // One dev server, two static servers and one Chromium at a time.
      fileParallelism: false,
      // A whole scenario: logins, a dev server restart, the browser's reconnect backoff.
      testTimeout: 120_000,
      // beforeAll builds both examples and starts the dev server (and its app).
      hookTimeout: 240_000,
      // expect.poll is the auto-waiting assertion: long enough for a reconnect after a restart.
      expect: { poll: { timeout: 30_000, interval: 50 } },
    },
  }),
);
