/** A small sampling harness: batched timings, round-robin across variants, medians. */

export interface Variant {
  readonly name: string;
  /** Runs one iteration; the variant keeps its own state between iterations. */
  readonly run: () => void;
}

export interface Timing {
  /** Nanoseconds per iteration. */
  readonly median: number;
  readonly p75: number;
  readonly samples: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

export function collectGarbage(): void {
  gc?.();
}

/** Empties the young generation, so one variant's garbage is not collected in another's time. */
function collectYoung(): void {
  (gc as ((options: { type: "minor" }) => void) | undefined)?.({ type: "minor" });
}

function timeBatch(run: () => void, batch: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < batch; i++) run();
  return Number(process.hrtime.bigint() - start) / batch;
}

function quantile(sorted: readonly number[], q: number): number {
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (at - low);
}

/**
 * Warms every variant up, sizes batches so one sample takes about `sampleMs`, then takes samples
 * round-robin (rotating the order) so drifts in machine speed hit every variant alike.
 */
export function compare(
  variants: readonly Variant[],
  options: { warmupMs?: number; sampleMs?: number; rounds?: number } = {},
): Map<string, Timing> {
  const { warmupMs = 300, sampleMs = 3, rounds = 100 } = options;
  const batches = new Map<string, number>();
  for (const variant of variants) {
    collectGarbage();
    const until = performance.now() + warmupMs;
    let perIteration = timeBatch(variant.run, 1);
    while (performance.now() < until) perIteration = timeBatch(variant.run, 8);
    batches.set(variant.name, Math.max(1, Math.round((sampleMs * 1e6) / perIteration)));
  }
  const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < variants.length; k++) {
      const variant = variants[(round + k) % variants.length]!;
      collectYoung();
      samples.get(variant.name)!.push(timeBatch(variant.run, batches.get(variant.name)!));
    }
  }
  const timings = new Map<string, Timing>();
  for (const [name, list] of samples) {
    const sorted = [...list].sort((a, b) => a - b);
    timings.set(name, {
      median: quantile(sorted, 0.5),
      p75: quantile(sorted, 0.75),
      samples: sorted.length,
    });
  }
  return timings;
}

export function formatTime(ns: number): string {
  if (ns < 1e3) return `${ns.toFixed(0)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(ns < 1e4 ? 2 : 1)} µs`;
  return `${(ns / 1e6).toFixed(ns < 1e7 ? 2 : 1)} ms`;
}
