import { readFileSync } from "node:fs";
import { defineConfig } from "tsdown";

export default defineConfig({
  entry: ["src/index.ts"],
  format: "esm",
  platform: "neutral",
  target: "es2022",
  dts: true,
  sourcemap: true,
  clean: true,
  onSuccess() {
    // React Server Components treat the bundle as client code only with the directive on top.
    if (!readFileSync("dist/index.js", "utf8").startsWith('"use client";')) {
      throw new Error('dist/index.js lost its "use client" directive.');
    }
  },
});
