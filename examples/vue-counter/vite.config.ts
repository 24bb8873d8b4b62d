import { fileURLToPath } from "node:url";
import vue from "@vitejs/plugin-vue";
import { defaultClientConditions, defineConfig } from "vite";

export default defineConfig({
  plugins: [vue()],
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
