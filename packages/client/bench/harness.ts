/**
 * A small sampling harness: every variant of a case is warmed up, then sampled in interleaved
 * rounds (each round takes one sample of every variant, in a rotating order), so a change in
 * machine load hits all variants alike. Reports medians, p10-p90 spreads and paired ratios (the
 * ratio of two variants' samples taken in the same round).
 *
 * On Linux, a sample's time leaves out the moments the system ran other programs instead of this
 * one (the main thread's run-queue delay in /proc/self/schedstat): on shared cores, they would
 * otherwise land on whichever variant happens to run.
 */
import { readFileSync } from "node:fs";

export interface Variant {
  readonly name: string;
  /** Runs one iteration; the variant keeps its own state between iterations. */
  readonly run: () => void;
}

export interface Spread {
  readonly median: number;
  readonly p10: number;
  readonly p90: number;
  /** How many samples it summarizes. */
  readonly samples: number;
}

export interface CaseResult {
  /** Nanoseconds per iteration of a variant. */
  time(name: string): Spread;
  /**
   * `a / b`, one ratio per round; against a variant run once (see `onceMs`), the ratio of `a`'s
   * median to that run.
   */
  ratio(a: string, b: string): Spread;
  /** How long the case took, warm-up included, in milliseconds. */
  readonly elapsedMs: number;
}

/** `LENRA_BENCH_QUICK=1` runs smaller documents and fewer rounds, for a check in seconds. */
export const quick = process.env.LENRA_BENCH_QUICK === "1";

const gc = (globalThis as { gc?: (options?: { type: "minor" | "major" }) => void }).gc;

export function collectGarbage(): void {
  gc?.();
}

/** Empties the young generation, so one variant's garbage is not collected in another's time. */
function collectYoung(): void {
  gc?.({ type: "minor" });
}

/** Nanoseconds the main thread has waited for a CPU while ready to run, if the system says. */
function runQueueDelay(): number {
  try {
    return Number(readFileSync("/proc/self/schedstat", "utf8").split(" ")[1]);
  } catch {
    return 0;
  }
}

const delayed = runQueueDelay() > 0;

function timeBatch(run: () => void, batch: number): number {
  for (let attempt = 1; ; attempt++) {
    const waited = delayed ? runQueueDelay() : 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) run();
    const elapsed = Number(process.hrtime.bigint() - start);
    const waiting = delayed ? runQueueDelay() - waited : 0;
    // Waiting for most of the sample (or in the reads around it) leaves too little to measure.
    if (waiting < elapsed / 2 || attempt === 5) return Math.max(elapsed - waiting, 1) / batch;
  }
}

/** How sample times are taken, for the benchmarks' headers. */
export const clock = delayed
  ? "time on the CPU (wall time less run-queue delay, /proc/self/schedstat)"
  : "wall time";

function quantile(sorted: readonly number[], q: number): number {
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (at - low);
}

function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    median: quantile(sorted, 0.5),
    p10: quantile(sorted, 0.1),
    p90: quantile(sorted, 0.9),
    samples: sorted.length,
  };
}

export interface CompareOptions {
  /** Warm-up time per variant. */
  warmupMs?: number;
  /** Target duration of one sample; a slower iteration is a sample on its own. */
  sampleMs?: number;
  /** Sampling time of the whole case, shared by its variants, within the round limits. */
  budgetMs?: number;
  minRounds?: number;
  maxRounds?: number;
  /**
   * A variant whose first iteration takes longer is measured by that run alone: at hundreds of
   * milliseconds per iteration, rounds would take minutes and add nothing to the comparison.
   */
  onceMs?: number;
}

/** Measures `variants` against each other; see the file comment. */
export function compare(variants: readonly Variant[], options: CompareOptions = {}): CaseResult {
  const {
    warmupMs = quick ? 40 : 100,
    sampleMs = 2,
    budgetMs = quick ? 250 : 1000,
    minRounds = 5,
    maxRounds = 60,
    onceMs = 400,
  } = options;
  const started = performance.now();
  const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const batches = new Map<string, number>();
  let roundNs = 0;
  collectGarbage();
  for (const variant of variants) {
    const until = performance.now() + warmupMs;
    let perIteration = timeBatch(variant.run, 1);
    if (perIteration >= onceMs * 1e6) {
      samples.get(variant.name)!.push(perIteration);
      continue;
    }
    for (let batch = 1; performance.now() < until; ) {
      const left = ((until - performance.now()) * 1e6) / perIteration;
      batch = Math.max(1, Math.min(batch * 2, 64, Math.floor(left)));
      perIteration = timeBatch(variant.run, batch);
    }
    const batch = Math.max(1, Math.round((sampleMs * 1e6) / perIteration));
    batches.set(variant.name, batch);
    roundNs += batch * perIteration;
  }
  const sampled = variants.filter((variant) => batches.has(variant.name));
  const rounds = Math.min(maxRounds, Math.max(minRounds, Math.floor((budgetMs * 1e6) / roundNs)));
  collectGarbage();
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < sampled.length; k++) {
      const variant = sampled[(round + k) % sampled.length]!;
      collectYoung();
      samples.get(variant.name)!.push(timeBatch(variant.run, batches.get(variant.name)!));
    }
  }
  const of = (name: string) => {
    const list = samples.get(name);
    if (list === undefined) throw new Error(`no variant named ${name}`);
    return list;
  };
  return {
    time: (name) => spread(of(name)),
    ratio: (a, b) => {
      const as = of(a);
      const bs = of(b);
      if (as.length !== bs.length) {
        const once = as.length === 1 ? as[0]! / spread(bs).median : spread(as).median / bs[0]!;
        return { median: once, p10: once, p90: once, samples: 1 };
      }
      return spread(as.map((value, round) => value / bs[round]!));
    },
    elapsedMs: performance.now() - started,
  };
}

export function formatTime(ns: number): string {
  if (ns < 1e3) return `${ns.toPrecision(3)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toPrecision(3)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toPrecision(3)} ms`;
  return `${(ns / 1e9).toPrecision(3)} s`;
}

export function formatNumber(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toPrecision(value >= 1 ? 3 : 2);
}

/** "1.20 µs (1.10-1.45)": the median and its p10-p90 range. */
export function formatSpread({ median, p10, p90, samples }: Spread): string {
  if (samples === 1) return `${formatTime(median)} (1 run)`;
  const unit = formatTime(median).split(" ")[1]!;
  const scale = { ns: 1, µs: 1e3, ms: 1e6, s: 1e9 }[unit]!;
  return `${formatTime(median)} (${formatNumber(p10 / scale)}-${formatNumber(p90 / scale)})`;
}

/** "0.52x (0.48-0.57)". */
export function formatRatio({ median, p10, p90, samples }: Spread): string {
  if (samples === 1) return `${formatNumber(median)}x (1 run)`;
  return `${formatNumber(median)}x (${formatNumber(p10)}-${formatNumber(p90)})`;
}

/** Writes a line to stdout, even while `console.log` is silenced (the old client logs). */
export function print(line = ""): void {
  process.stdout.write(`${line}\n`);
}

/** Prints rows as a table: the first column aligned left, the others right. */
export function printTable(rows: readonly (readonly string[])[]): void {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join("  ");
  print(line(rows[0]!));
  print("-".repeat(line(rows[0]!).length));
  for (const row of rows.slice(1)) print(line(row));
}

/** Formats a count with thousands separators: 10,000. */
export function count(n: number): string {
  return n.toLocaleString("en-US");
}
