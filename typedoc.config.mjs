// `pnpm run docs`: the API reference of every public entry point, from the TSDoc, into docs/api
// (build output, not committed). Warnings are errors, so an export missing from the reference,
// an undocumented export or a broken {@link} fails the build; `pnpm test` runs it.
import { publicEntryPoints } from "./scripts/typedoc-plugin.mjs";

/** @type {Partial<import("typedoc").TypeDocOptions>} */
export default {
  name: "Lenra JSON-view clients",
  entryPoints: publicEntryPoints().map(([file]) => file),
  plugin: ["./scripts/typedoc-plugin.mjs"],
  tsconfig: "./tsconfig.docs.json",
  out: "./docs/api",
  readme: "none",
  // Source links name the project's repository, so the build needs no git remote.
  sourceLinkTemplate: "https://github.com/lenra-io/client-lib-js/blob/{gitRevision}/{path}#L{line}",
  // `pnpm typecheck` checks the types; TypeDoc only reads them.
  skipErrorChecking: true,
  treatWarningsAsErrors: true,
  validation: { notExported: true, invalidLink: true, rewrittenLink: true, notDocumented: true },
  highlightLanguages: ["bash", "html", "json", "sh", "ts", "tsx", "typescript", "vue"],
};
