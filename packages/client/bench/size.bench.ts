/**
 * What `@lenra/client` and the adapters add to an app's bundle, minified and gzipped: the same
 * figures as `test/size.test.ts`, which also holds them to their budgets. Run with `pnpm bench`.
 */
import { measureAll, sizeTable } from "../test/support/bundle-size.ts";

console.log("Bundle sizes (esbuild, minified, gzip -9; KB = 1024 bytes)");
console.table(sizeTable(await measureAll()));
