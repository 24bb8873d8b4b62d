#!/usr/bin/env node
// The command is this small file rather than dist/cli.js itself so that it exists before any
// build: package managers link a package's bin on install, and in this repository dist/ is only
// made by `pnpm build`.
import { existsSync } from "node:fs";

const cli = new URL("../dist/cli.js", import.meta.url);
if (!existsSync(cli)) {
  console.error(
    "lenra-devserver: the dev server is not built (no dist/cli.js). In the client-lib-js repository, run `pnpm build` first.",
  );
  process.exit(1);
}
await import(cli.href);
