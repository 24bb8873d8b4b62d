// What `pnpm run docs` knows of this repository, as a TypeDoc plugin:
// - the public entry points of the published packages, read from their `exports` maps (so a new
//   entry point is in the API reference without a second list to keep), each module named as
//   users import it (`@lenra/client/login`) instead of by its file's path;
// - the tables of the packages' READMEs, checked against what they document, so a README cannot
//   miss an option or an error code, nor list one that is gone: a table after
//   `<!-- options: @lenra/client#LenraClientOptions -->` must have one row per property of that
//   type, named in backticks in its first column, and no other row; a table after
//   `<!-- values: @lenra/client#LenraErrorCode -->` one row per value of that constant object
//   (an enum-like `{ Name: "value" }`), the value in backticks in its first column.
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

/** The checked tables of the READMEs: where, what they document, the names in their rows. */
function readmeTables() {
  const marker = /<!-- (options|values): (\S+)#(\w+) -->\n((?:\|.*(?:\n|$))+)/g;
  return publishedPackages().flatMap(({ dir }) => {
    const file = join(dir, "README.md");
    const text = readFileSync(file, "utf8");
    return [...text.matchAll(marker)].map(([, kind, entry, type, table]) => ({
      where: relative(root, file),
      kind,
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
    /** The names a table must list: an interface's properties, or a constant object's values. */
    const expected = (kind, symbol) => {
      if (kind === "options") {
        return checker
          .getPropertiesOfType(checker.getDeclaredTypeOfSymbol(symbol))
          .map((property) => property.name);
      }
      // `LenraErrorCode` is a constant and a type of the same name: the constant's members.
      const constant = symbol.valueDeclaration;
      if (!constant) return undefined;
      return checker
        .getPropertiesOfType(checker.getTypeOfSymbolAtLocation(symbol, constant))
        .map((property) => checker.getTypeOfSymbolAtLocation(property, constant))
        .map((type) => (type.isStringLiteral() ? type.value : checker.typeToString(type)));
    };
    for (const table of readmeTables()) {
      const what = `${table.where}: the ${table.kind} table of ${table.entry}#${table.type}`;
      const row = table.kind === "options" ? "option" : "value";
      let reflection = context.project.getChildByName([table.entry, table.type]);
      if (reflection?.kindOf(ReflectionKind.Reference))
        reflection = reflection.getTargetReflectionDeep();
      const symbol = reflection && context.getSymbolFromReflection(reflection);
      const names = symbol && expected(table.kind, symbol);
      if (!names) {
        app.logger.error(`${what} documents nothing that ${table.entry} exports.`);
        continue;
      }
      const missing = names.filter((name) => !table.names.includes(name));
      const unknown = table.names.filter((name) => !names.includes(name));
      if (missing.length > 0) app.logger.error(`${what} lacks ${missing.join(", ")}.`);
      if (unknown.length > 0)
        app.logger.error(`${what} has rows for no ${row}: ${unknown.join(", ")}.`);
    }
  });
}
