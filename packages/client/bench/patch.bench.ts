/**
 * What a `patchUi` frame costs from its decoded payload to the new published snapshot, for the
 * engine of this package ("ours") and, on the same inputs in the same process: the floor (copy
 * each touched container once and assign, nothing else), immer's applyPatches (default
 * auto-freeze) and the old @lenra/client (fast-json-patch on a shallow copy, mutating in place;
 * context only, not a target). Run with `pnpm bench`.
 */
import { LenraRoute } from "@lenra/client-beta";
import { applyPatches, enablePatches, type Patch } from "immer";
import { createHydrator } from "../src/listener.ts";
import { collectGarbage, compare, formatTime, type Variant } from "./harness.ts";

enablePatches();

interface Item {
  id: string;
  title: string;
  done: boolean;
  onToggle: unknown;
}
interface ViewDoc {
  items: Item[];
}
interface Operation {
  op: string;
  path: string;
  value?: unknown;
}
interface Payload {
  patch: Operation[];
}

const print = console.log.bind(console);

function code(i: number): string {
  return `${(i * 2654435761) >>> 0}`.padStart(10, "0") + i.toString(16);
}

/** The view's JSON as the server sends it, decoded from the wire. */
function viewJson(n: number): string {
  const items = [];
  for (let i = 0; i < n; i++) {
    items.push({
      id: `item-${i}`,
      title: `Item ${i}`,
      done: i % 3 === 0,
      onToggle: { _type: "listener", code: code(i) },
    });
  }
  return JSON.stringify({ items });
}

/** A ring of distinct decoded payloads, each touching `ops` distinct items. */
function payloads(n: number, ops: number, count: number): Payload[] {
  const ring: Payload[] = [];
  let seed = 12345;
  const random = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
  for (let k = 0; k < count; k++) {
    const chosen = new Set<number>();
    while (chosen.size < ops) chosen.add(Math.floor(random() * n));
    const patch = [...chosen].map((i) => ({
      op: "replace",
      path: `/items/${i}/title`,
      value: `Title ${k}-${i}`,
    }));
    ring.push(JSON.parse(JSON.stringify({ patch })) as Payload);
  }
  return ring;
}

function snapshot(data: unknown) {
  return { status: "success", data, error: undefined, isStale: false };
}

// Keeps results reachable so no variant's work can be optimised away.
let sink: unknown;

function cycle<T>(ring: readonly T[]): () => T {
  let k = 0;
  return () => ring[k++ % ring.length]!;
}

function variants(n: number, ops: number): Variant[] {
  const json = viewJson(n);
  const ring = payloads(n, ops, 64);

  const ours = (() => {
    const hydrator = createHydrator(async () => {});
    let data = hydrator.replace(JSON.parse(json));
    const next = cycle(ring);
    return () => {
      data = hydrator.patch(data, next().patch);
      sink = snapshot(data);
    };
  })();

  const floor = (() => {
    // The same hydrated document: only the patch application differs.
    let data = createHydrator(async () => {}).replace(JSON.parse(json)) as ViewDoc;
    const next = cycle(ring);
    return () => {
      const patch = next().patch;
      const items = data.items.slice();
      for (const op of patch) {
        const path = op.path;
        const index = Number(path.slice(7, path.indexOf("/", 7)));
        items[index] = { ...items[index]!, title: op.value as string };
      }
      data = { ...data, items };
      sink = snapshot(data);
    };
  })();

  const immer = (() => {
    let data = createHydrator(async () => {}).replace(JSON.parse(json)) as ViewDoc;
    const next = cycle(ring);
    return () => {
      const patches: Patch[] = next().patch.map((op) => ({
        op: op.op as Patch["op"],
        path: op.path
          .slice(1)
          .split("/")
          .map((token) => {
            const key = token.replaceAll("~1", "/").replaceAll("~0", "~");
            return /^(0|[1-9][0-9]*)$/.test(key) ? Number(key) : key;
          }),
        value: op.value,
      }));
      data = applyPatches(data, patches);
      sink = snapshot(data);
    };
  })();

  const old = (() => {
    const handlers: Record<string, (payload: unknown) => void> = {};
    const channel = {
      on(event: string, handler: (payload: unknown) => void) {
        handlers[event] = handler;
      },
      join() {
        const push = { receive: () => push };
        return push;
      },
    };
    const socket = { channel: () => channel };
    // biome-ignore lint/suspicious/noExplicitAny: the old client's types want a phoenix Socket.
    new LenraRoute(socket as any, "/bench", (doc: unknown) => {
      sink = snapshot(doc);
    });
    handlers.ui!(JSON.parse(json));
    const next = cycle(ring);
    return () => handlers.patchUi!(next());
  })();

  return [
    { name: "ours", run: ours },
    { name: "floor", run: floor },
    { name: "immer", run: immer },
    { name: "old", run: old },
  ];
}

const cases = [
  { label: "(a) 1 replace, N=1,000", n: 1_000, ops: 1 },
  { label: "(a) 1 replace, N=10,000", n: 10_000, ops: 1 },
  { label: "(a) 1 replace, N=100,000", n: 100_000, ops: 1 },
  { label: "(b) 1,000 replaces, N=10,000", n: 10_000, ops: 1_000 },
];

if (typeof (globalThis as { gc?: unknown }).gc !== "function") {
  print("note: run with --expose-gc (pnpm bench does) for a GC between cases");
}

const header = [
  "case".padEnd(30),
  "ours".padStart(20),
  "floor".padStart(20),
  "immer".padStart(20),
  "old client".padStart(20),
  "ours/floor".padStart(11),
  "ours/immer".padStart(11),
  "ours/old".padStart(9),
].join(" ");
print("median (p75) per patch, from decoded payload to new snapshot\n");
print(header);
print("-".repeat(header.length));

const silenced = console.log;
let failed = false;
for (const { label, n, ops } of cases) {
  collectGarbage();
  // The old client logs every patch with console.log.
  console.log = () => {};
  let timings: ReturnType<typeof compare>;
  try {
    timings = compare(variants(n, ops));
  } finally {
    console.log = silenced;
  }
  collectGarbage();
  const cell = (name: string) => {
    const t = timings.get(name)!;
    return `${formatTime(t.median)} (${formatTime(t.p75)})`.padStart(20);
  };
  const ratio = (a: string, b: string, width: number) =>
    `${(timings.get(a)!.median / timings.get(b)!.median).toFixed(2)}x`.padStart(width);
  const vsFloor = timings.get("ours")!.median / timings.get("floor")!.median;
  const vsImmer = timings.get("ours")!.median / timings.get("immer")!.median;
  if (vsFloor > 1.5 || vsImmer >= 1) failed = true;
  print(
    [
      label.padEnd(30),
      cell("ours"),
      cell("floor"),
      cell("immer"),
      cell("old"),
      ratio("ours", "floor", 11),
      ratio("ours", "immer", 11),
      ratio("ours", "old", 9),
    ].join(" "),
  );
}
print(
  `\ntargets: ours <= 1.5x floor and faster than immer in every case: ${failed ? "MISSED" : "met"}`,
);
void sink;
