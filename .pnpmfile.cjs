// Runs when pnpm packs a workspace package (pnpm pack, pnpm publish, changeset publish).
//
// In this repository every package's `exports` entries carry an "@lenra/source" condition that
// points at its TypeScript sources, so sibling packages and tests run without a build. It must not
// reach users: their bundler or `tsc` would pick it under their own conditions and type-check our
// sources with their settings. Dropping it from every entry, whatever the entries are, keeps one
// `exports` map to maintain instead of a second copy in `publishConfig`.
const SOURCE_CONDITION = "@lenra/source";

function withoutSourceCondition(target) {
  if (Array.isArray(target)) return target.map(withoutSourceCondition);
  if (target === null || typeof target !== "object") return target;
  const result = {};
  for (const [key, value] of Object.entries(target)) {
    if (key !== SOURCE_CONDITION) result[key] = withoutSourceCondition(value);
  }
  return result;
}

module.exports = {
  hooks: {
    beforePacking(pkg) {
      if (pkg.exports !== undefined) pkg.exports = withoutSourceCondition(pkg.exports);
      return pkg;
    },
  },
};
