import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defaultClientConditions, defineConfig } from "vite";

export default defineConfig({
  plugins: [react()],
  resolve: {
    // @lenra/* export their TypeScript sources under this condition: in the Lenra repository they
    // need no build first.
    conditions: ["@lenra/source", ...defaultClientConditions],
  },
  build: {
    // redirect.html is the OAuth redirect URI, a page of its own.
    rollupOptions: {
      input: [
        fileURLToPath(new URL("index.html", import.meta.url)),
        fileURLToPath(new URL("redirect.html", import.meta.url)),
      ],
    },
  },
});
