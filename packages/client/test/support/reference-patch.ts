/**
 * A deliberately naive RFC 6902 applier for property tests: deep clone, then mutate, checking
 * everything in the plainest way. It fixes the order in which faults are reported (operation
 * fields, then pointers, then the document, left to right) so failures can be compared too.
 */
export type ReferenceResult =
  | { ok: true; doc: unknown }
  | { ok: false; index: number; failure: string };

class Fail {
  constructor(readonly failure: string) {}
}

type Obj = Record<string, unknown>;

export function clone(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clone);
  if (typeof value === "object" && value !== null) {
    const out: Obj = {};
    for (const key of Object.keys(value)) {
      Object.defineProperty(out, key, {
        value: clone((value as Obj)[key]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

export function jsonEquals(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) &&
      Array.isArray(b) &&
      a.length === b.length &&
      a.every((item, i) => jsonEquals(item, b[i]))
    );
  }
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length &&
      keys.every((key) => Object.hasOwn(b, key) && jsonEquals((a as Obj)[key], (b as Obj)[key]))
    );
  }
  return a === b;
}

function parse(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw new Fail("invalid_pointer");
  return pointer
    .slice(1)
    .split("/")
    .map((token) => {
      if (/~[^01]|~$/.test(token)) throw new Fail("invalid_pointer");
      const unescaped = token.replace(/~1/g, "/").replace(/~0/g, "~");
      if (unescaped === "__proto__") throw new Fail("forbidden_path");
      return unescaped;
    });
}

function index(array: unknown[], token: string, insert: boolean): number {
  if (token === "-") {
    if (insert) return array.length;
    throw new Fail("path_not_found");
  }
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new Fail("invalid_pointer");
  const i = Number(token);
  if (insert ? i > array.length : i >= array.length) throw new Fail("path_not_found");
  return i;
}

function child(node: unknown, token: string): unknown {
  if (Array.isArray(node)) return node[index(node, token, false)];
  if (typeof node === "object" && node !== null) {
    if (!Object.hasOwn(node, token)) throw new Fail("path_not_found");
    return (node as Obj)[token];
  }
  throw new Fail("path_not_found");
}

function get(root: unknown, tokens: string[]): unknown {
  let node = root;
  for (const token of tokens) node = child(node, token);
  return node;
}

function container(root: unknown, tokens: string[]): Obj | unknown[] {
  const parent = get(root, tokens.slice(0, -1));
  if (typeof parent !== "object" || parent === null) throw new Fail("path_not_found");
  return parent as Obj | unknown[];
}

export function referenceApply(document: unknown, operations: unknown): ReferenceResult {
  if (!Array.isArray(operations)) return { ok: false, index: -1, failure: "invalid_patch" };
  let root = clone(document);

  const add = (tokens: string[], value: unknown) => {
    if (tokens.length === 0) {
      root = value;
      return;
    }
    const parent = container(root, tokens);
    const key = tokens[tokens.length - 1]!;
    if (Array.isArray(parent)) parent.splice(index(parent, key, true), 0, value);
    else parent[key] = value;
  };
  const remove = (tokens: string[]) => {
    if (tokens.length === 0) throw new Fail("invalid_operation");
    const parent = container(root, tokens);
    const key = tokens[tokens.length - 1]!;
    if (Array.isArray(parent)) {
      parent.splice(index(parent, key, false), 1);
    } else {
      if (!Object.hasOwn(parent, key)) throw new Fail("path_not_found");
      delete parent[key];
    }
  };
  const replace = (tokens: string[], value: unknown) => {
    if (tokens.length === 0) {
      root = value;
      return;
    }
    const parent = container(root, tokens);
    const key = tokens[tokens.length - 1]!;
    if (Array.isArray(parent)) {
      parent[index(parent, key, false)] = value;
    } else {
      if (!Object.hasOwn(parent, key)) throw new Fail("path_not_found");
      parent[key] = value;
    }
  };

  for (let i = 0; i < operations.length; i++) {
    const op: unknown = operations[i];
    try {
      if (typeof op !== "object" || op === null || Array.isArray(op)) {
        throw new Fail("invalid_operation");
      }
      const { path } = op as Obj;
      if (typeof path !== "string") throw new Fail("invalid_operation");
      const kind = (op as Obj).op;
      if (!["add", "remove", "replace", "move", "copy", "test"].includes(kind as string)) {
        throw new Fail("invalid_operation");
      }
      const needsValue = kind === "add" || kind === "replace" || kind === "test";
      if (needsValue && (!Object.hasOwn(op, "value") || (op as Obj).value === undefined)) {
        throw new Fail("invalid_operation");
      }
      const needsFrom = kind === "move" || kind === "copy";
      if (needsFrom && typeof (Object.hasOwn(op, "from") ? (op as Obj).from : 0) !== "string") {
        throw new Fail("invalid_operation");
      }
      const from = needsFrom ? parse((op as Obj).from as string) : [];
      const tokens = parse(path);
      const value = clone((op as Obj).value);
      switch (kind) {
        case "add":
          add(tokens, value);
          break;
        case "remove":
          remove(tokens);
          break;
        case "replace":
          replace(tokens, value);
          break;
        case "move": {
          const prefix =
            from.length <= tokens.length && from.every((token, n) => token === tokens[n]);
          if (prefix && from.length < tokens.length) throw new Fail("invalid_operation");
          const moved = get(root, from);
          if (prefix) break;
          remove(from);
          add(tokens, moved);
          break;
        }
        case "copy":
          add(tokens, clone(get(root, from)));
          break;
        case "test":
          if (!jsonEquals(get(root, tokens), value)) throw new Fail("test_failed");
          break;
      }
    } catch (error) {
      if (error instanceof Fail) return { ok: false, index: i, failure: error.failure };
      throw error;
    }
  }
  return { ok: true, doc: root };
}

/**
 * Throws unless `actual` and `expected` are the same JSON and every object of `actual` is a plain
 * object (vitest's strict equality trips on own "constructor" members, which these tests use).
 */
export function assertSameJson(actual: unknown, expected: unknown): void {
  if (!jsonEquals(actual, expected)) {
    throw new Error(`Different JSON:\n${JSON.stringify(actual)}\n${JSON.stringify(expected)}`);
  }
  const check = (value: unknown): void => {
    if (typeof value !== "object" || value === null) return;
    const proto = Object.getPrototypeOf(value);
    if (proto !== (Array.isArray(value) ? Array.prototype : Object.prototype)) {
      throw new Error("A container has an unexpected prototype");
    }
    for (const member of Object.values(value)) check(member);
  };
  check(actual);
}
