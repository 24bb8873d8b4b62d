// How `changeset version` writes each package's CHANGELOG.md ("changelog" in config.json).
// - A changeset is one entry: its summary, as written for that package's readers. No commit
//   hash: it would name the commit that added the changeset file, not the change.
// - The workspace packages a package depends on are one line per dependency, with their new
//   version, rather than one "Updated dependencies" line per changeset of theirs.

async function getReleaseLine(changeset) {
  const [first, ...rest] = changeset.summary.split("\n").map((line) => line.trimEnd());
  return [`- ${first}`, ...rest.map((line) => (line ? `  ${line}` : ""))].join("\n");
}

async function getDependencyReleaseLine(_changesets, dependencies) {
  return dependencies
    .map(({ name, newVersion }) => `- Depends on \`${name}@${newVersion}\` (see its changelog).`)
    .join("\n");
}

module.exports = { getReleaseLine, getDependencyReleaseLine };
