import { defineConfig } from "tsdown";

export default defineConfig({
  entry: ["src/index.ts", "src/testing.ts", "src/protocol.ts", "src/cli.ts"],
  format: "esm",
  platform: "node",
  target: "node20",
  dts: true,
  sourcemap: true,
  clean: true,
  fixedExtension: false,
  // Preloaded into apps from beside the bundled code (see src/app/launch.ts).
  copy: ["src/app/watchdog.js"],
});
