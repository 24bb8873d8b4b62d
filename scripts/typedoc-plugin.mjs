// What `pnpm docs:api` knows of this repository, as a TypeDoc plugin:
// - the public entry points of the published packages, read from their `exports` maps (so a new
//   entry point is in the API reference without a second list to keep), each module named as
//   users import it (`@lenra/client/login`) instead of by its file's path;
// - the option tables of the packages' READMEs, checked against the types they document: a
//   table after `<!-- options: @lenra/client#LenraClientOptions -->` must have one row per
//   property of that type, named in backticks in its first column, and no other row.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { Converter, ReflectionKind } from "typedoc";

const root = resolve(import.meta.dirname, "..");
const SOURCE_CONDITION = "@lenra/source";

function publishedPackages() {
  return readdirSync(join(root, "packages"))
    .map((folder) => join(root, "packages", folder))
    .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) }))
    .filter(({ manifest }) => !manifest.private);
}

/** `[source file, import specifier]` of every public entry point. */
export function publicEntryPoints() {
  return publishedPackages().flatMap(({ dir, manifest }) =>
    Object.entries(manifest.exports ?? {})
      .filter(([, target]) => target?.[SOURCE_CONDITION] !== undefined)
      .map(([subpath, target]) => [
        join(dir, target[SOURCE_CONDITION]),
        join(manifest.name, subpath),
      ]),
  );
}

/** The option tables of the READMEs: where, the type they document, the names in their rows. */
function readmeOptionTables() {
  const marker = /<!-- options: (\S+)#(\w+) -->\n((?:\|.*(?:\n|$))+)/g;
  return publishedPackages().flatMap(({ dir }) => {
    const file = join(dir, "README.md");
    const text = readFileSync(file, "utf8");
    return [...text.matchAll(marker)].map(([, entry, type, table]) => ({
      where: relative(root, file),
      entry,
      type,
      // Past the header row and the |---| row, the first cell's first `name`.
      names: table
        .trim()
        .split("\n")
        .slice(2)
        .map((row) => /^\|\s*`([^`]+)`/.exec(row)?.[1] ?? row),
    }));
  });
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

  app.converter.on(Converter.EVENT_END, (context) => {
    // One tsconfig, so one program.
    const checker = context.programs[0].getTypeChecker();
    for (const table of readmeOptionTables()) {
      const what = `${table.where}: the options table of ${table.entry}#${table.type}`;
      let reflection = context.project.getChildByName([table.entry, table.type]);
      if (reflection?.kindOf(ReflectionKind.Reference))
        reflection = reflection.getTargetReflectionDeep();
      const symbol = reflection && context.getSymbolFromReflection(reflection);
      if (!symbol) {
        app.logger.error(`${what} documents a type that ${table.entry} does not export.`);
        continue;
      }
      const type = checker.getDeclaredTypeOfSymbol(symbol);
      const options = checker.getPropertiesOfType(type).map((property) => property.name);
      const missing = options.filter((name) => !table.names.includes(name));
      const unknown = table.names.filter((name) => !options.includes(name));
      if (missing.length > 0) app.logger.error(`${what} lacks ${missing.join(", ")}.`);
      if (unknown.length > 0)
        app.logger.error(`${what} has rows for no option: ${unknown.join(", ")}.`);
    }
  });
}
