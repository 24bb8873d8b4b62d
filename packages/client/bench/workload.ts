/**
 * The documents and patches the benchmarks feed to every variant: the counter app's todo list
 * (each todo with a few fields and two listener objects whose codes look like Lenra's, 43
 * base64url characters) and rings of `patchUi` patches of each RFC 6902 kind.
 *
 * A variant applies the patches of a ring one after another, over and over, to its own evolving
 * document, so every ring keeps the document's size steady: an add is followed by a remove
 * (single operations alternate), and mixed patches add as many items as they remove.
 */

export interface ListenerJson {
  _type: "listener";
  code: string;
}

export interface Todo {
  id: string;
  title: string;
  done: boolean;
  onToggle: ListenerJson;
  onRemove: ListenerJson;
}

export interface TodoList {
  items: Todo[];
  remaining: number;
  onAdd: ListenerJson;
}

export type Operation =
  | { op: "add" | "replace" | "test"; path: string; value: unknown }
  | { op: "remove"; path: string }
  | { op: "move" | "copy"; from: string; path: string };

export type Patch = Operation[];

/** A deterministic pseudo-random generator, so every run measures the same inputs. */
export function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
}

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** A distinct listener code of Lenra's shape (a base64url SHA-256) for each `seed`. */
function listenerCode(seed: number): string {
  const next = random(seed * 2654435761 + 1);
  let code = "";
  for (let i = 0; i < 43; i++) code += BASE64URL[Math.floor(next() * 64)];
  return code;
}

let serial = 0;

/** A todo as the app renders it; `generation` gives its listeners codes of their own. */
export function todo(i: number, generation = 0): Todo {
  const seed = i * 4 + generation * 0x1000000;
  return {
    id: `todo-${i}`,
    title: `Todo number ${i}`,
    done: i % 3 === 0,
    onToggle: { _type: "listener", code: listenerCode(seed) },
    onRemove: { _type: "listener", code: listenerCode(seed + 1) },
  };
}

/** The list of `n` todos, as JSON text. */
export function todoList(n: number, generation = 0): string {
  const items: Todo[] = [];
  for (let i = 0; i < n; i++) items.push(todo(i, generation));
  const list: TodoList = {
    items,
    remaining: n,
    onAdd: { _type: "listener", code: listenerCode(-1 - generation) },
  };
  return JSON.stringify(list);
}

function newTodo(): Todo {
  serial += 1;
  return todo(1e6 + serial);
}

export interface OperationCase {
  readonly label: string;
  /** The ring of patches, as JSON text (each variant decodes its own copy). */
  ring(n: number): string;
}

function alternate(first: (k: number) => Operation, second: (k: number) => Operation): string {
  const ring: Patch[] = [];
  for (let k = 0; k < 32; k++) ring.push([first(k)], [second(k)]);
  return JSON.stringify(ring);
}

function single(n: number, make: (index: () => number) => Operation): string {
  const next = random(n);
  const index = () => Math.floor(next() * n);
  const ring: Patch[] = [];
  for (let k = 0; k < 64; k++) ring.push([make(index)]);
  return JSON.stringify(ring);
}

/** `count` operations of every kind, adding as many items as they remove. */
export function mixed(n: number, count: number, patches: number): string {
  const next = random(n + count);
  const ring: Patch[] = [];
  for (let p = 0; p < patches; p++) {
    const patch: Patch = [];
    let length = n;
    for (let k = 0; k < count; k++) {
      const at = (extra = 0) => Math.floor(next() * (length + extra));
      const roll = next();
      let kind =
        roll < 0.3
          ? "title"
          : roll < 0.4
            ? "done"
            : roll < 0.52
              ? "add"
              : roll < 0.64
                ? "remove"
                : roll < 0.76
                  ? "move"
                  : roll < 0.82
                    ? "copy"
                    : "test";
      // The operations left after this one must be able to bring the length back to `n`.
      const growth = kind === "add" || kind === "copy" ? 1 : kind === "remove" ? -1 : 0;
      if (Math.abs(length + growth - n) > count - k - 1) {
        kind = length > n ? "remove" : length < n ? "add" : "title";
      }
      switch (kind) {
        case "title":
          patch.push({ op: "replace", path: `/items/${at()}/title`, value: `Edited ${p}-${k}` });
          break;
        case "done":
          patch.push({ op: "replace", path: `/items/${at()}/done`, value: k % 2 === 0 });
          break;
        case "add":
          patch.push({ op: "add", path: `/items/${at(1)}`, value: newTodo() });
          length += 1;
          break;
        case "remove":
          patch.push({ op: "remove", path: `/items/${at()}` });
          length -= 1;
          break;
        case "move":
          patch.push({ op: "move", from: `/items/${at()}`, path: `/items/${at()}` });
          break;
        case "copy":
          patch.push({ op: "copy", from: `/items/${at()}`, path: `/items/${at(1)}` });
          length += 1;
          break;
        default:
          patch.push({ op: "test", path: `/items/${at()}/onToggle/_type`, value: "listener" });
      }
    }
    ring.push(patch);
  }
  return JSON.stringify(ring);
}

/** Every RFC 6902 kind, at the array's end, head and middle, then mixed patches. */
export const operationCases: readonly OperationCase[] = [
  {
    label: "add + remove at end",
    ring: (n) =>
      alternate(
        () => ({ op: "add", path: "/items/-", value: newTodo() }),
        () => ({ op: "remove", path: `/items/${n}` }),
      ),
  },
  {
    label: "add + remove at head",
    ring: () =>
      alternate(
        () => ({ op: "add", path: "/items/0", value: newTodo() }),
        () => ({ op: "remove", path: "/items/0" }),
      ),
  },
  {
    label: "add + remove in middle",
    ring: (n) =>
      alternate(
        () => ({ op: "add", path: `/items/${n >> 1}`, value: newTodo() }),
        () => ({ op: "remove", path: `/items/${n >> 1}` }),
      ),
  },
  {
    label: "replace",
    ring: (n) =>
      single(n, (index) => ({
        op: "replace",
        path: `/items/${index()}/title`,
        value: `Edited ${serial++}`,
      })),
  },
  {
    label: "move",
    ring: (n) =>
      single(n, (index) => ({ op: "move", from: `/items/${index()}`, path: `/items/${index()}` })),
  },
  {
    label: "copy + remove",
    ring: (n) => {
      const next = random(n);
      const index = () => Math.floor(next() * n);
      return alternate(
        (k) => ({ op: "copy", from: `/items/${index()}`, path: `/items/${(k * 7919) % n}` }),
        (k) => ({ op: "remove", path: `/items/${(k * 7919) % n}` }),
      );
    },
  },
  {
    // Nothing else changes the document: each todo still is as first rendered.
    label: "test (a whole todo)",
    ring: (n) =>
      single(n, (index) => {
        const i = index();
        return { op: "test", path: `/items/${i}`, value: todo(i) };
      }),
  },
  { label: "10 mixed ops", ring: (n) => mixed(n, 10, 64) },
  { label: "1,000 mixed ops", ring: (n) => mixed(n, 1000, 16) },
];

/** Cycles through a ring. */
export function cycle<T>(ring: readonly T[]): () => T {
  let k = 0;
  return () => ring[k++ % ring.length]!;
}
