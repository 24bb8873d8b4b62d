import { readFileSync } from "node:fs";
import { defineConfig } from "tsdown";

export default defineConfig({
  entry: ["src/index.ts", "src/login.ts"],
  format: "esm",
  platform: "neutral",
  target: "es2022",
  dts: true,
  sourcemap: true,
  clean: true,
  onSuccess() {
    // React Server Components treat the bundle as client code only with the directive on top.
    for (const file of ["dist/index.js", "dist/login.js"]) {
      if (!readFileSync(file, "utf8").startsWith('"use client";')) {
        throw new Error(`${file} lost its "use client" directive.`);
      }
    }
  },
});
