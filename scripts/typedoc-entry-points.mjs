// The public entry points of the published packages, read from their `exports` maps, so a new
// entry point is in the API reference without a second list to keep. Also a TypeDoc plugin that
// names each entry's module as users import it (`@lenra/client/login`), instead of TypeDoc's
// name from the file's path (`client/src/login`).
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Converter, ReflectionKind } from "typedoc";

const root = resolve(import.meta.dirname, "..");
const SOURCE_CONDITION = "@lenra/source";

/** `[source file, import specifier]` of every public entry point. */
export function publicEntryPoints() {
  const entries = [];
  for (const folder of readdirSync(join(root, "packages"))) {
    const dir = join(root, "packages", folder);
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    if (manifest.private) continue;
    for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
      const source = target?.[SOURCE_CONDITION];
      if (source === undefined) continue;
      entries.push([join(dir, source), join(manifest.name, subpath)]);
    }
  }
  return entries;
}

/** @param {import("typedoc").Application} app */
export function load(app) {
  const names = new Map(publicEntryPoints());
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (context, reflection) => {
    if (!reflection.kindOf(ReflectionKind.Module)) return;
    const file = context.getSymbolFromReflection(reflection)?.declarations?.[0]?.getSourceFile();
    const name = file && names.get(resolve(file.fileName));
    if (name) reflection.name = name;
  });
}
