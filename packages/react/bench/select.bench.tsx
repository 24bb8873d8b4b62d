/**
 * 1,000 mounted components each showing one item of a 1,000-item view, in happy-dom, with the
 * real core over a real socket to the devserver's protocol layer; the server patches one item.
 * Prints how many components re-rendered and the time from the patch frame's arrival to React's
 * commit (median), with `select` and with a plain `useLenraView`; then each adapter's size,
 * minified and gzipped, without React, Vue and `@lenra/client`.
 *
 * Run with `pnpm bench` (React's production build; not a timed test).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { Window } from "happy-dom";

const ITEMS = 1000;
const RUNS = 40;
const WARMUP = 5;

process.env.NODE_ENV = "production";
// react-dom decides at import whether it has a DOM: install happy-dom's globals first.
const page = new Window({ url: "http://localhost:3000" });
const globals = globalThis as Record<string, unknown>;
for (const name of ["window", "document", "navigator", "Node", "Element", "HTMLElement"]) {
  globals[name] = (page as unknown as Record<string, unknown>)[name];
}
globals.HTMLIFrameElement = page.HTMLIFrameElement;
globals.Event = page.Event;

const { createElement: h, useLayoutEffect } = await import("react");
const { createRoot } = await import("react-dom/client");
const { flushSync } = await import("react-dom");
const { WebSocket } = await import("ws");
const { createTestApp, listener } = await import("@lenra/devserver/testing");
const { startProtocolServer } = await import("@lenra/devserver/protocol");
const lenra = await import("../src/index.ts");

interface Item {
  id: string;
  title: string;
}
type ListView = { items: (Item & { onRename: { _type: "listener"; code: string } })[] };

const app = createTestApp<{ items: Item[] }>({
  state: { items: Array.from({ length: ITEMS }, (_, i) => ({ id: `i${i}`, title: "0" })) },
  routes: {
    "/list": {
      roles: ["guest"],
      view: (state) => ({
        items: state.items.map((item) => ({
          ...item,
          onRename: listener("rename", { id: item.id }),
        })),
      }),
    },
  },
});
const server = await startProtocolServer({ backend: app });

/** When the last `patchUi` frame arrived, before the client handled it. */
let arrivedAt = 0;
class TimedWebSocket extends WebSocket {
  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols);
    // Registered before phoenix sets `onmessage`, so it runs first.
    this.addEventListener("message", (event) => {
      if (String(event.data).includes('"patchUi"')) arrivedAt = performance.now();
    });
  }
}

const stats = { renders: 0, committedAt: 0 };
/** Resolves when `title` is committed at `index`. */
let expected: { index: number; title: string; done: () => void } | undefined;

function useCommitted(index: number, title: string | undefined) {
  stats.renders += 1;
  useLayoutEffect(() => {
    stats.committedAt = performance.now();
    if (expected?.index === index && expected.title === title) expected.done();
  });
}

function SelectedItem({ index }: { index: number }) {
  const { data } = lenra.useLenraView<ListView, Item | undefined>("/list", {
    select: (view) => view.items[index],
  });
  useCommitted(index, data?.title);
  return h("li", null, data?.title);
}

function PlainItem({ index }: { index: number }) {
  const { data } = lenra.useLenraView<ListView>("/list");
  const title = data?.items[index]?.title;
  useCommitted(index, title);
  return h("li", null, title);
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

async function measure(Item: typeof SelectedItem, name: string) {
  const client = lenra.createLenraClient({
    socketEndpoint: server.socketUrl,
    transport: TimedWebSocket,
  });
  // Subscribed before the components, so it runs first: when the core has applied the patch.
  let appliedAt = 0;
  client.view("/list").subscribe(() => {
    appliedAt = performance.now();
  });
  const container = page.document.createElement("ul");
  page.document.body.appendChild(container);
  const root = createRoot(container as unknown as Element);
  const items = Array.from({ length: ITEMS }, (_, index) => h(Item, { key: index, index }));
  const loaded = new Promise<void>((done) => {
    expected = { index: ITEMS - 1, title: app.state.items[ITEMS - 1]?.title ?? "", done };
  });
  flushSync(() => root.render(h(lenra.LenraProvider, { client }, items)));
  await loaded;
  const renders: number[] = [];
  const times: number[] = [];
  const applied: number[] = [];
  for (let run = 0; run < WARMUP + RUNS; run++) {
    const index = (run * 37) % ITEMS;
    const title = `${name}-${run}`;
    const committed = new Promise<void>((done) => {
      expected = { index, title, done };
    });
    stats.renders = 0;
    await app.update((state) => {
      const item = state.items[index];
      if (item) item.title = title;
    });
    await committed;
    // Let any other render this patch caused commit too.
    await new Promise((settle) => setTimeout(settle, 20));
    if (run < WARMUP) continue;
    renders.push(stats.renders);
    times.push(stats.committedAt - arrivedAt);
    applied.push(appliedAt - arrivedAt);
  }
  root.unmount();
  container.remove();
  await client.disconnect();
  return { name, renders: median(renders), ms: median(times), applied: median(applied) };
}

const results = [
  await measure(SelectedItem, "useLenraView + select"),
  await measure(PlainItem, "useLenraView, no select"),
];
await server.close();
await page.happyDOM.close();

console.log(
  `\n${ITEMS} components, each showing one item of a ${ITEMS}-item view; the server patches one item (median of ${RUNS} runs)\n`,
);
console.table(
  Object.fromEntries(
    results.map((r) => [
      r.name,
      {
        "components re-rendered": r.renders,
        "patch frame -> commit (ms)": Number(r.ms.toFixed(2)),
        "of which the core applying the patch (ms)": Number(r.applied.toFixed(2)),
      },
    ]),
  ),
);

/** Builds an adapter with tsdown, minified, its peers and the core left out, and gzips it. */
async function adapterSize(name: "react" | "vue") {
  const { build } = await import("tsdown");
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..", name);
  const outDir = mkdtempSync(join(tmpdir(), `lenra-${name}-size-`));
  try {
    await build({
      config: false,
      cwd: root,
      entry: [join(root, "src/index.ts")],
      format: "esm",
      platform: "neutral",
      target: "es2022",
      dts: false,
      minify: true,
      outDir,
      logLevel: "silent",
      external: [/^@lenra\/client/, "react", "vue"],
    });
    const code = readFileSync(join(outDir, "index.js"));
    return { minified: code.length, gzip: gzipSync(code, { level: 9 }).length };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

const sizes = {
  "@lenra/react": await adapterSize("react"),
  "@lenra/vue": await adapterSize("vue"),
};
console.log("\nAdapter size without React, Vue and @lenra/client (target: <= 1536 B min+gzip)\n");
console.table(
  Object.fromEntries(
    Object.entries(sizes).map(([name, size]) => [
      name,
      { "min (B)": size.minified, "min+gzip (B)": size.gzip },
    ]),
  ),
);
