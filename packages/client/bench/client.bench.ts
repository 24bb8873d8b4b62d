/**
 * The whole client path, from a frame's text arriving on the socket to the snapshot handed to a
 * subscriber: phoenix decodes the frame, the view hydrates the `ui` document or applies the
 * `patchUi` patch, the store notifies. Ours runs through `createLenraClient` and the old client
 * (`LenraRoute` of @lenra/client@1.0.0-beta.3) through its own route, both on a real phoenix
 * Socket whose WebSocket is an in-process fake server (fake-server.ts): no network. `JSON.parse`
 * of the same frame, which both clients do first, is the floor.
 *
 * Then the hydration of a first `ui` on its own: `JSON.parse` and then hydrating the document,
 * against `JSON.parse` alone, with the target of at most 2x (first `ui` of 10,000 todos).
 *
 * Run with `pnpm bench` (`LENRA_BENCH_QUICK=1` for a quick run).
 */
import { LenraRoute } from "@lenra/client-beta";
import { Socket } from "phoenix";
import { createLenraClient } from "../src/client.ts";
import { createHydrator } from "../src/listener.ts";
import { createFakeServer, frame } from "./fake-server.ts";
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
import { silenceConsole } from "./references.ts";
import { cycle, mixed, operationCases, todoList } from "./workload.ts";

const TOPIC = "route:/todos";
const ENDPOINT = "wss://bench.invalid/socket";

let sink: unknown;

interface Subject extends Variant {
  close(): void;
}

/** Our client, subscribed to the view, with `first` delivered; each run delivers the next frame. */
async function ours(first: string, frames: readonly string[]): Promise<Subject> {
  const server = createFakeServer();
  const client = createLenraClient({
    socketEndpoint: ENDPOINT,
    transport: server.transport,
    lingerMs: 0,
  });
  const view = client.view("/todos");
  let delivered: unknown;
  const stop = view.subscribe(() => {
    delivered = view.getSnapshot();
  });
  await server.joined(TOPIC);
  server.send(first);
  const next = cycle(frames);
  return {
    name: "ours",
    run: () => {
      server.send(next());
      sink = delivered;
    },
    close: () => {
      stop();
      void client.dispose();
    },
  };
}

/** The old client's route, the same way. */
async function old(first: string, frames: readonly string[]): Promise<Subject> {
  const server = createFakeServer();
  const socket = new Socket(ENDPOINT, { transport: server.transport });
  socket.connect();
  let delivered: unknown;
  new LenraRoute(socket, "/todos", (doc: unknown) => {
    delivered = doc;
  });
  await server.joined(TOPIC);
  server.send(first);
  const next = cycle(frames);
  return {
    name: "old client",
    run: () => {
      server.send(next());
      sink = delivered;
    },
    close: () => socket.disconnect(),
  };
}

function decodeOnly(frames: readonly string[]): Subject {
  const next = cycle(frames);
  return {
    name: "JSON.parse",
    run: () => {
      sink = JSON.parse(next());
    },
    close: () => {},
  };
}

interface PathCase {
  readonly label: string;
  /** The frames each run cycles through, after a first `ui` of generation 0. */
  frames(n: number): string[];
}

const uiFrame = (n: number, generation: number) => frame(TOPIC, "ui", todoList(n, generation));
const patchFrames = (ringJson: string) =>
  (JSON.parse(ringJson) as unknown[]).map((patch) =>
    frame(TOPIC, "patchUi", JSON.stringify({ patch })),
  );
const ringOf = (label: string) => operationCases.find((c) => c.label === label)!.ring;

const pathCases: readonly PathCase[] = [
  // Listener codes alternate between two renders: every listener of every frame is new, and
  // each is looked up among the previous document's (a first ui has none: see hydration()).
  { label: "ui, all listeners new", frames: (n) => [uiFrame(n, 1), uiFrame(n, 0)] },
  { label: "ui, again (same listeners)", frames: (n) => [uiFrame(n, 0)] },
  { label: "patchUi, 1 replace", frames: (n) => patchFrames(ringOf("replace")(n)) },
  {
    label: "patchUi, add + remove in middle",
    frames: (n) => patchFrames(ringOf("add + remove in middle")(n)),
  },
  { label: "patchUi, 10 mixed ops", frames: (n) => patchFrames(mixed(n, 10, 64)) },
  { label: "patchUi, 1,000 mixed ops", frames: (n) => patchFrames(mixed(n, 1000, 16)) },
];

const sizes = quick ? [1_000, 10_000] : [1_000, 10_000, 100_000];
const VARIANTS = ["ours", "old client", "JSON.parse"];

async function clientPath(): Promise<void> {
  print("Client path: frame text in -> snapshot delivered to a subscriber, median (p10-p90)");
  print("ratios are paired per round; both clients start with JSON.parse of the frame (phoenix)");
  print(`times: ${clock}`);
  const summary = [["case", "ours", "old client", "JSON.parse", "ours/old", "ours/JSON.parse"]];
  for (const n of sizes) {
    const first = uiFrame(n, 0);
    for (const pathCase of pathCases) {
      const frames = pathCase.frames(n);
      collectGarbage();
      const subjects = [await ours(first, frames), await old(first, frames), decodeOnly(frames)];
      const result = compare(subjects, { onceMs: 2000 });
      for (const subject of subjects) subject.close();
      sink = undefined;
      const label = `${pathCase.label}, N=${count(n)}`;
      const rows = [
        [`${label} (${(result.elapsedMs / 1000).toFixed(1)} s)`, "time", "ours/variant"],
      ];
      for (const name of VARIANTS) {
        rows.push([
          `  ${name}`,
          formatSpread(result.time(name)),
          name === "ours" ? "" : formatRatio(result.ratio("ours", name)),
        ]);
      }
      print();
      printTable(rows);
      summary.push([
        label,
        ...VARIANTS.map((name) => formatTime(result.time(name).median)),
        `${formatNumber(result.ratio("ours", "old client").median)}x`,
        `${formatNumber(result.ratio("ours", "JSON.parse").median)}x`,
      ]);
    }
  }
  print("\nSummary of the client path\n");
  printTable(summary);
}

/** JSON.parse then hydration of a first `ui`, against JSON.parse alone. */
function hydration(): void {
  print("\nHydration of a first ui (2 listeners per todo), median (p10-p90)");
  print(
    "a JSON.parse reviver would do the walk within the parse: the identity reviver shows its cost\n",
  );
  const rows = [
    [
      "todos",
      "JSON.parse",
      "JSON.parse + hydrate",
      "JSON.parse + reviver",
      "(parse + hydrate)/parse",
      "hydrate per listener",
    ],
  ];
  let met = true;
  for (const n of sizes) {
    const text = todoList(n);
    const listeners = 2 * n + 1;
    const call = async () => {};
    const variants: Variant[] = [
      {
        name: "parse",
        run: () => {
          sink = JSON.parse(text);
        },
      },
      {
        name: "parse + hydrate",
        run: () => {
          sink = createHydrator(call).replace(JSON.parse(text));
        },
      },
      {
        name: "reviver",
        run: () => {
          sink = JSON.parse(text, (_key, value) => value);
        },
      },
    ];
    collectGarbage();
    const result = compare(variants, { onceMs: 2000 });
    const ratio = result.ratio("parse + hydrate", "parse");
    if (n === 10_000 && ratio.median > 2) met = false;
    const perListener =
      (result.time("parse + hydrate").median - result.time("parse").median) / listeners;
    rows.push([
      count(n),
      formatSpread(result.time("parse")),
      formatSpread(result.time("parse + hydrate")),
      formatSpread(result.time("reviver")),
      formatRatio(ratio),
      formatTime(perListener),
    ]);
  }
  printTable(rows);
  print(
    `\ntarget: a first ui of 10,000 todos hydrated within 2x JSON.parse: ${met ? "met" : "MISSED"}`,
  );
}

const started = performance.now();
silenceConsole();
await clientPath();
hydration();
print(`\n(${((performance.now() - started) / 1000).toFixed(0)} s)`);
void sink;
