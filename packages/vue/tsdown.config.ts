import { defineConfig } from "tsdown";

export default defineConfig({
  entry: ["src/index.ts", "src/login.ts"],
  format: "esm",
  platform: "neutral",
  target: "es2022",
  dts: true,
  sourcemap: true,
  clean: true,
});
