/**
 * The patch engine (`applyPatch`) against every reference in its best configuration (see
 * references.ts), on the counter app's todo list: each RFC 6902 kind at the array's end, head
 * and middle, then patches of 10 and 1,000 mixed operations, for N = 1,000, 10,000 and 100,000
 * todos. Every variant applies the same ring of decoded patches to its own document.
 *
 * Run with `pnpm bench` (`LENRA_BENCH_QUICK=1` for a quick run).
 */
import { applyPatch } from "../src/patch.ts";
import {
  clock,
  collectGarbage,
  compare,
  count,
  formatNumber,
  formatRatio,
  formatSpread,
  formatTime,
  print,
  printTable,
  quick,
  type Variant,
} from "./harness.ts";
import {
  type Apply,
  fjpClone,
  fjpMutate,
  floorApply,
  freeze,
  immerApply,
  mutativeApply,
  oldRoute,
  silenceConsole,
} from "./references.ts";
import { cycle, operationCases, type Patch, type TodoList, todoList } from "./workload.ts";

interface Subject extends Variant {
  /** The variant's current document. */
  current(): unknown;
}

const REFERENCES = [
  "floor",
  "immer",
  "immer frozen",
  "mutative",
  "fjp mutating",
  "fjp cloning",
  "old client",
] as const;

let sink: unknown;

function subjects(json: string, ringJson: string): Subject[] {
  // The variants that never write into their input share one decoded document and ring. The
  // others decode their own: fjp mutating and the old client write into both, fjp cloning into
  // patch values once they are in its clone, immer frozen freezes its document.
  const shared = JSON.parse(json) as TodoList;
  const sharedRing = JSON.parse(ringJson) as Patch[];
  const own = () => JSON.parse(json) as TodoList;
  const ownRing = () => JSON.parse(ringJson) as Patch[];
  const start = (name: string, apply: Apply, from = shared, ring = sharedRing): Subject => {
    let doc = from;
    const next = cycle(ring);
    return {
      name,
      run: () => {
        doc = apply(doc, next());
        sink = doc;
      },
      current: () => doc,
    };
  };
  const old = (() => {
    let doc: unknown;
    const route = oldRoute((next) => {
      doc = next;
    });
    route.ui(own());
    const next = cycle(ownRing());
    return {
      name: "old client",
      run: () => {
        route.patchUi({ patch: next() });
        sink = doc;
      },
      current: () => doc,
    };
  })();
  return [
    start("ours", (doc, patch) => applyPatch(doc, patch as Parameters<typeof applyPatch>[1])),
    start("floor", floorApply),
    start("immer", immerApply(false)),
    start("immer frozen", immerApply(true), freeze(own())),
    start("mutative", mutativeApply),
    start("fjp mutating", fjpMutate, own(), ownRing()),
    start("fjp cloning", fjpClone, shared, ownRing()),
    old,
  ];
}

/** Every variant must compute the same documents: applies a whole ring and compares. */
function check(json: string, ringJson: string, label: string): void {
  const all = subjects(json, ringJson);
  const patches = (JSON.parse(ringJson) as unknown[]).length;
  const results = all.map((subject) => {
    for (let i = 0; i < patches; i++) subject.run();
    return JSON.stringify(subject.current());
  });
  all.forEach((subject, i) => {
    if (results[i] !== results[0]) {
      throw new Error(`${subject.name} and ours disagree on "${label}": fix the benchmark`);
    }
  });
}

const started = performance.now();
const sizes = quick ? [1_000, 10_000] : [1_000, 10_000, 100_000];
const summary: string[][] = [["case", "ours", ...REFERENCES.map((name) => `ours/${name}`)]];

print("JSON Patch engines: time per patch from decoded patch to new document, median (p10-p90)");
print("ratios ours/reference are paired per round (below 1x, ours is faster)");
print(`times: ${clock}`);

// A variant's time per patch at the previous size, by case: at 100,000 todos, immer and mutative
// would take seconds per patch of 1,000 operations (each one O(N) on a draft).
const previous = new Map<string, { n: number; ns: number }>();
const SKIP_ABOVE_NS = 2e9;

silenceConsole();
for (const n of sizes) {
  const json = todoList(n);
  for (const operationCase of operationCases) {
    const ringJson = operationCase.ring(n);
    if (n === sizes[0]) check(json, ringJson, operationCase.label);
    const predicted = new Map<string, { n: number; ns: number }>();
    for (const name of REFERENCES) {
      const before = previous.get(`${operationCase.label}/${name}`);
      if (before !== undefined && (before.ns * n) / before.n > SKIP_ABOVE_NS) {
        predicted.set(name, before);
      }
    }
    collectGarbage();
    // A reference at over 150 ms per patch (fjp cloning 100,000 todos, immer and mutative on
    // 1,000 operations) is measured by one run: rounds of it would take minutes.
    const result = compare(
      subjects(json, ringJson).filter((subject) => !predicted.has(subject.name)),
      { onceMs: 150 },
    );
    sink = undefined;
    const label = `${operationCase.label}, N=${count(n)}`;
    const rows = [[`${label} (${(result.elapsedMs / 1000).toFixed(1)} s)`, "time", "ours/variant"]];
    const ours = result.time("ours").median;
    const cells: string[] = [];
    for (const name of ["ours", ...REFERENCES]) {
      const skipped = predicted.get(name);
      if (skipped !== undefined) {
        const estimate = (skipped.ns * n) / skipped.n;
        rows.push([
          `  ${name}`,
          `not run: about ${formatTime(estimate)}`,
          `(${formatTime(skipped.ns)} at N=${count(skipped.n)}, O(N) per op)`,
        ]);
        cells.push(`~${formatNumber(ours / estimate)}x`);
        continue;
      }
      const time = result.time(name);
      previous.set(`${operationCase.label}/${name}`, { n, ns: time.median });
      rows.push([
        `  ${name}`,
        formatSpread(time),
        name === "ours" ? "" : formatRatio(result.ratio("ours", name)),
      ]);
      if (name !== "ours") cells.push(`${formatNumber(result.ratio("ours", name).median)}x`);
    }
    print();
    printTable(rows);
    summary.push([label, formatTime(ours), ...cells]);
  }
}

print("\nSummary: ours per patch, and median ratios ours/reference (~: estimated, not run)\n");
printTable(summary);
print(`\n(${((performance.now() - started) / 1000).toFixed(0)} s)`);
void sink;
