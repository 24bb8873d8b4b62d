/**
 * What a data change costs on a big view, end to end: a test app (the platform every app is
 * served by) shows a list of N items, each with a listener, to one client (the official
 * phoenix client over ws, in this process). For each N, the median over RUNS of:
 *
 * - change:   one item's title changes; time from the change to the client's patchUi;
 * - same:     a re-render whose result did not change; time until it was handled (no patchUi);
 * - insert:   an item inserted at the head of the list; time to the client's patchUi;
 * - remove:   an item removed from the middle; time to the client's patchUi;
 *
 * with the size of each patch (operations, bytes) next to the whole document's, and each time as
 * a ratio to the 10-item case of the same run, so the figures compare across machines; then the
 * times of the same view written with object spread (see `views` for why they differ).
 *
 *   pnpm bench:big-view      SIZES=10,100,1000,10000 RUNS=15 by default
 */
import { Socket } from "phoenix";
import { WebSocket } from "ws";
import { startProtocolServer } from "../src/protocol.ts";
import { createTestApp, listener } from "../src/testing.ts";

interface Item {
  _id: string;
  title: string;
  done: boolean;
}

interface State {
  items: Item[];
  next: number;
}

interface Patch {
  patch: unknown[];
}

interface CaseFigures {
  ms: number;
  ops: number;
  bytes: number;
}

type CaseName = "change" | "same" | "insert" | "remove";
const CASES: CaseName[] = ["change", "same", "insert", "remove"];

const sizes = (process.env.SIZES ?? "10,100,1000,10000").split(",").map(Number);
const runs = Number(process.env.RUNS ?? 15);
const reference = 10;
if (sizes[0] !== reference) sizes.unshift(reference);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const item = (n: number): Item => ({ _id: `item-${n}`, title: `Item ${n}`, done: n % 3 === 0 });

type ListView = (state: State) => { count: number; items: unknown[] };

/**
 * The route's view, the app's own work, timed alone as the floor of every case; written two
 * ways. With object literals, every item shares one shape. With object spread, as many apps
 * write it, Node 20's V8 gives each item made by optimized code a shape of its own: the view
 * itself runs several times slower, and so does everything that reads its answer afterwards
 * (the encoder's comparison here). An app on the dev server is not concerned (its answer
 * arrives as JSON, whose parsed objects share shapes); a test app written this way is.
 */
const views: Record<"literal" | "spread", ListView> = {
  literal: (state) => ({
    count: state.items.length,
    items: state.items.map((entry) => ({
      _id: entry._id,
      title: entry.title,
      done: entry.done,
      onToggle: listener("toggle", { id: entry._id }),
    })),
  }),
  spread: (state) => ({
    count: state.items.length,
    items: state.items.map((entry) => ({
      ...entry,
      onToggle: listener("toggle", { id: entry._id }),
    })),
  }),
};

async function measure(
  size: number,
  listView: ListView,
): Promise<{
  figures: Record<CaseName, CaseFigures>;
  documentBytes: number;
  codes: number;
  /** The view function alone, called directly. */
  viewMs: number;
}> {
  const app = createTestApp<State>({
    state: { items: Array.from({ length: size }, (_, n) => item(n)), next: size },
    routes: {
      "/list": {
        roles: ["guest"],
        view: listView,
      },
    },
  });
  const server = await startProtocolServer({ backend: app });
  const socket = new Socket(server.socketUrl, {
    transport: WebSocket as unknown as new (endpoint: string) => object,
    params: { app: "big-view" },
    timeout: 60_000,
  });
  socket.connect();
  const channel = socket.channel("route:/list", { mode: "json" });
  let documentBytes = 0;
  let onPatch: ((patch: Patch, bytes: number) => void) | undefined;
  await new Promise<void>((resolve, reject) => {
    channel.on("ui", (payload) => {
      documentBytes = JSON.stringify(payload).length;
      resolve();
    });
    channel.join().receive("error", reject).receive("timeout", reject);
  });
  channel.on("patchUi", (payload: Patch) => onPatch?.(payload, JSON.stringify(payload).length));

  /** Runs `change`, resolves with its time to the client's patchUi and that patch's size. */
  const timed = async (change: (state: State) => void, expectPatch: boolean) => {
    const patched = expectPatch
      ? new Promise<{ patch: Patch; bytes: number; at: number }>((resolve) => {
          onPatch = (patch, bytes) => resolve({ patch, bytes, at: performance.now() });
        })
      : undefined;
    const start = performance.now();
    await app.update(change);
    if (!patched) return { ms: performance.now() - start, ops: 0, bytes: 0 };
    const { patch, bytes, at } = await patched;
    onPatch = undefined;
    return { ms: at - start, ops: patch.patch.length, bytes };
  };

  const samples: Record<CaseName, CaseFigures[]> = { change: [], same: [], insert: [], remove: [] };
  // One unmeasured round warms the JIT up.
  for (let round = -1; round < runs; round++) {
    const results: Record<CaseName, CaseFigures> = {
      change: await timed((state) => {
        const target = state.items[Math.floor(state.items.length / 2)] as Item;
        target.title = `${target.title}!`;
      }, true),
      same: await timed(() => {}, false),
      insert: await timed((state) => {
        state.items.unshift(item(state.next++));
      }, true),
      remove: await timed((state) => {
        state.items.splice(Math.floor(state.items.length / 2), 1);
      }, true),
    };
    if (round >= 0) for (const name of CASES) samples[name].push(results[name]);
  }
  const codes = app.stats().listenerCodes;
  const viewTimes: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    listView(app.state);
    viewTimes.push(performance.now() - start);
  }
  await new Promise<void>((resolve) => socket.disconnect(() => resolve()));
  await server.close();
  const figures = Object.fromEntries(
    CASES.map((name) => {
      const list = samples[name];
      return [
        name,
        {
          ms: median(list.map((s) => s.ms)),
          ops: median(list.map((s) => s.ops)),
          bytes: median(list.map((s) => s.bytes)),
        },
      ];
    }),
  ) as Record<CaseName, CaseFigures>;
  return { figures, documentBytes, codes, viewMs: median(viewTimes) };
}

type Measured = Awaited<ReturnType<typeof measure>>;
const literal = new Map<number, Measured>();
const spread = new Map<number, Measured>();
for (const size of sizes) {
  literal.set(size, await measure(size, views.literal));
  spread.set(size, await measure(size, views.spread));
}
const base = literal.get(reference) as Measured;

const kb = (bytes: number) =>
  bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(bytes < 10_240 ? 1 : 0)} KB`;
const rows: string[][] = [
  ["items", "document", "case", "ms (median)", `x ${reference} items`, "operations", "patch"],
];
for (const [size, { figures, documentBytes }] of literal) {
  for (const name of CASES) {
    const { ms, ops, bytes } = figures[name];
    rows.push([
      String(size),
      kb(documentBytes),
      name,
      ms.toFixed(2),
      (ms / base.figures[name].ms).toFixed(1),
      name === "same" ? "-" : String(ops),
      name === "same" ? "-" : kb(bytes),
    ]);
  }
}
const widths = rows[0]?.map((_, column) =>
  Math.max(...rows.map((row) => row[column]?.length ?? 0)),
);
console.log(
  `A data change on a view of N items, end to end (change -> patchUi on the client), ${runs} runs each\n`,
);
for (const row of rows) {
  console.log(row.map((cell, column) => cell.padStart(widths?.[column] ?? 0)).join("  "));
}
const viewTimes = (results: Map<number, Measured>) =>
  [...results].map(([size, r]) => `${r.viewMs.toFixed(2)} ms for ${size} items`).join(", ");
console.log(`\nThe view function alone (the app's own work, in every case): ${viewTimes(literal)}`);
console.log(
  `Listener codes the session holds after the runs: ${[...literal].map(([size, r]) => `${r.codes} for ${size} items`).join(", ")}`,
);
console.log(
  "\nThe same view written with object spread ({ ...item, onToggle }), whose items V8 gives a shape each:",
);
for (const [size, { figures }] of spread) {
  const cases = CASES.map((name) => `${name} ${figures[name].ms.toFixed(2)} ms`).join(", ");
  console.log(`  ${size} items: ${cases}`);
}
console.log(`  the view function alone: ${viewTimes(spread)}`);
const largest = literal.get(10_000);
if (largest) {
  const { change, insert } = largest.figures;
  const spreadChange = spread.get(10_000)?.figures.change.ms ?? Number.NaN;
  console.log(
    `\nTargets at 10,000 items: change ${change.ms.toFixed(1)} ms (<= 5: ${change.ms <= 5 ? "met" : "NOT met"}; ` +
      `${spreadChange.toFixed(1)} ms with the spread view), ` +
      `head insert ${insert.ops} operations (<= 3: ${insert.ops <= 3 ? "met" : "NOT met"})`,
  );
}
