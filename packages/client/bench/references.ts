/**
 * The references the benchmarks compare with, each in its best configuration: production builds
 * (as an app bundle ships them, without development checks), immer without auto-freeze and immer
 * on a frozen document with auto-freeze (its best case for structural sharing), mutative,
 * fast-json-patch mutating and cloning, and the old published client.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { LenraRoute } from "@lenra/client-beta";
import fastJsonPatch, { type Operation as FjpOperation } from "fast-json-patch";
import type * as ImmerModule from "immer";
import type * as MutativeModule from "mutative";
import type { Operation, Patch, Todo, TodoList } from "./workload.ts";

const require = createRequire(import.meta.url);

/** A package's file, imported by path: the package's `exports` may not list its production build. */
async function importFile<T>(pkg: string, file: string): Promise<T> {
  const root = dirname(require.resolve(`${pkg}/package.json`));
  return (await import(pathToFileURL(join(root, file)).href)) as T;
}

const immer = await importFile<typeof ImmerModule>("immer", "dist/immer.production.mjs");
const mutative = await importFile<typeof MutativeModule>(
  "mutative",
  "dist/mutative.esm.production.min.mjs",
);
immer.enablePatches();
// Splices on drafts then work on the copy instead of drafting every element.
immer.enableArrayMethods();

const { applyPatch: fjpApply } = fastJsonPatch;

function tokens(pointer: string): string[] {
  const parts = pointer.slice(1).split("/");
  if (pointer.includes("~")) {
    for (let i = 0; i < parts.length; i++) {
      parts[i] = parts[i]!.replaceAll("~1", "/").replaceAll("~0", "~");
    }
  }
  return parts;
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) {
    if (!sameJson((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) {
      return false;
    }
  }
  return true;
}

type Container = Record<string, unknown> | unknown[];

/** A deep copy of JSON (drafts included), as immer's and mutative's own `apply` make of values. */
function cloneJson(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map(cloneJson);
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value))
    copy[key] = cloneJson((value as Record<string, unknown>)[key]);
  return copy;
}

/**
 * RFC 6902 applied in place, for immer's and mutative's drafts: neither library applies `move`,
 * `copy` or `test`, so an app using them would write this.
 */
function applyInPlace(doc: unknown, patch: Patch): void {
  const parentOf = (path: string[]): Container => {
    let node = doc as Container;
    for (let i = 0; i < path.length - 1; i++) node = (node as Record<string, Container>)[path[i]!]!;
    return node;
  };
  const take = (path: string[]): unknown => {
    const parent = parentOf(path);
    const key = path[path.length - 1]!;
    if (Array.isArray(parent)) return parent.splice(Number(key), 1)[0];
    const value = parent[key];
    delete parent[key];
    return value;
  };
  const put = (path: string[], value: unknown): void => {
    const parent = parentOf(path);
    const key = path[path.length - 1]!;
    if (!Array.isArray(parent)) parent[key] = value;
    else if (key === "-") parent.push(value);
    else parent.splice(Number(key), 0, value);
  };
  const read = (path: string[]): unknown =>
    (parentOf(path) as Record<string, unknown>)[path[path.length - 1]!];
  for (const operation of patch) {
    const path = tokens(operation.path);
    switch (operation.op) {
      case "add":
        put(path, cloneJson(operation.value));
        break;
      case "remove":
        take(path);
        break;
      case "replace":
        (parentOf(path) as Record<string, unknown>)[path[path.length - 1]!] = cloneJson(
          operation.value,
        );
        break;
      case "move":
        put(path, take(tokens(operation.from)));
        break;
      case "copy":
        put(path, cloneJson(read(tokens(operation.from))));
        break;
      case "test":
        if (!sameJson(read(path), operation.value)) throw new Error("test failed");
        break;
    }
  }
}

function onlyNativeKinds(patch: Patch): boolean {
  for (const operation of patch) {
    if (operation.op !== "add" && operation.op !== "remove" && operation.op !== "replace") {
      return false;
    }
  }
  return true;
}

/** Applies one patch and returns the new document. */
export type Apply = (doc: TodoList, patch: Patch) => TodoList;

/** immer: `applyPatches` when it can, `produce` with {@link applyInPlace} otherwise. */
export function immerApply(autoFreeze: boolean): Apply {
  const instance = new immer.Immer({ autoFreeze });
  return (doc, patch) => {
    if (onlyNativeKinds(patch)) {
      const patches = patch.map((operation) => ({
        op: operation.op as "add" | "remove" | "replace",
        path: tokens(operation.path),
        value: "value" in operation ? operation.value : undefined,
      }));
      return instance.applyPatches(doc, patches);
    }
    return instance.produce(doc, (draft) => applyInPlace(draft, patch));
  };
}

/** Deep-freezes a document the way immer does, for immer's frozen-document configuration. */
export function freeze<T>(doc: T): T {
  return immer.freeze(doc, true);
}

/** mutative (auto-freeze off, its default): `apply` when it can, `create` otherwise. */
export const mutativeApply: Apply = (doc, patch) =>
  onlyNativeKinds(patch)
    ? mutative.apply(doc, patch as MutativeModule.Patches)
    : mutative.create(doc, (draft) => applyInPlace(draft, patch));

/** fast-json-patch mutating the document in place, without validation. */
export const fjpMutate: Apply = (doc, patch) =>
  fjpApply(doc, patch as FjpOperation[], false, true).newDocument;

/** fast-json-patch on its own deep clone of the document, without validation. */
export const fjpClone: Apply = (doc, patch) =>
  fjpApply(doc, patch as FjpOperation[], false, false).newDocument;

/**
 * The floor: the least an immutable update of these patches can do, written for the todo list
 * alone (every path is `/items/<index>` or `/items/<index>/<field>`): one copy of the array per
 * patch that writes, one copy of each todo whose field changes, and nothing else.
 */
export const floorApply: Apply = (doc, patch) => {
  let items: Todo[] | undefined;
  for (const operation of patch) {
    const path = operation.path;
    const slash = path.indexOf("/", 7);
    const source = items ?? doc.items;
    const index =
      path.charCodeAt(7) === 45
        ? source.length
        : Number(path.slice(7, slash === -1 ? undefined : slash));
    if (operation.op === "test") {
      const item = source[index]!;
      const same =
        slash === -1 ? sameJson(item, operation.value) : item.onToggle._type === operation.value;
      if (!same) throw new Error("test failed");
      continue;
    }
    items ??= doc.items.slice();
    switch (operation.op) {
      case "add":
        items.splice(index, 0, operation.value as Todo);
        break;
      case "remove":
        items.splice(index, 1);
        break;
      case "replace": {
        const item: Record<string, unknown> = { ...items[index]! };
        item[path.slice(slash + 1)] = operation.value;
        items[index] = item as unknown as Todo;
        break;
      }
      case "move":
        items.splice(index, 0, items.splice(Number(operation.from.slice(7)), 1)[0]!);
        break;
      case "copy":
        items.splice(index, 0, items[Number(operation.from.slice(7))]!);
        break;
    }
  }
  return items === undefined ? doc : { ...doc, items };
};

/**
 * The old client's route (`LenraRoute` of @lenra/client@1.0.0-beta.3) on a fake channel:
 * `ui` keeps the payload, `patchUi` runs fast-json-patch mutating a shallow copy of the root.
 * It logs every frame with `console.log`: the benchmarks silence it (see {@link silenceConsole}).
 */
export function oldRoute(onDocument: (doc: unknown) => void): {
  ui(payload: unknown): void;
  patchUi(payload: { patch: Patch }): void;
} {
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
  // biome-ignore lint/suspicious/noExplicitAny: the old client's types want a phoenix Socket.
  new LenraRoute({ channel: () => channel } as any, "/todos", onDocument);
  return {
    ui: (payload) => handlers.ui!(payload),
    patchUi: (payload) => handlers.patchUi!(payload),
  };
}

/** The old client logs every frame it receives: the benchmarks print with `print()` instead. */
export function silenceConsole(): void {
  console.log = () => {};
}

export type { Operation };
