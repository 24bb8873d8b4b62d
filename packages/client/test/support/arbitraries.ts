import fc from "fast-check";

// Objects with Object.prototype, as JSON.parse makes them.
const plain = { noNullPrototype: true } as const;

/** Keys that stress RFC 6901: escapes, digits, "-", the empty key and prototype names. */
export const keyArb = fc.constantFrom(
  "a",
  "b",
  "c",
  "0",
  "1",
  "01",
  "-",
  "",
  "~",
  "/",
  "~1",
  "a/b",
  "constructor",
  "toString",
  "code",
  "_type",
);

const leafArb = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.constantFrom("x", "y", "", "listener"),
  fc.boolean(),
  fc.constant(null),
);

const listenerArb = (value: fc.Arbitrary<unknown>) =>
  fc.record(
    {
      _type: fc.constantFrom<unknown>("listener", "listener", "view", 1),
      code: fc.oneof(fc.constantFrom<unknown>("k1", "k2", "k3"), value),
      extra: value,
    },
    { ...plain, requiredKeys: ["_type"] },
  );

/**
 * JSON values. "listeners" adds objects shaped like listener objects at any depth; "dense" builds
 * every object from the members that decide listener-ness, so listeners nest in listeners and in
 * almost-listeners.
 */
export function jsonArb(mode: "plain" | "listeners" | "dense"): fc.Arbitrary<unknown> {
  const { value } = fc.letrec<{ value: unknown }>((tie) => {
    const branches: fc.Arbitrary<unknown>[] = [leafArb, fc.array(tie("value"), { maxLength: 3 })];
    if (mode === "dense") {
      branches.push(
        fc.record(
          {
            _type: fc.constantFrom<unknown>("listener", "listener", "view"),
            code: fc.oneof(fc.constantFrom<unknown>("k1", "k2"), tie("value")),
            extra: tie("value"),
            a: tie("value"),
          },
          { ...plain, requiredKeys: [] },
        ),
      );
    } else {
      const members = fc.array(fc.tuple(keyArb, tie("value")), { maxLength: 4 });
      branches.push(members.map((entries) => Object.fromEntries(entries)));
      if (mode === "listeners") branches.push(listenerArb(tie("value")));
    }
    return { value: fc.oneof({ depthSize: "small", maxDepth: 4 }, ...branches) };
  });
  return value;
}

function escapeToken(token: string): string {
  return token.replaceAll("~", "~0").replaceAll("/", "~1");
}

/** Every pointer that exists in `doc`, and one level past each (for adds). */
export function pointersOf(doc: unknown, prefix = ""): string[] {
  const out = [prefix];
  if (Array.isArray(doc)) {
    doc.forEach((item, i) => {
      out.push(...pointersOf(item, `${prefix}/${i}`));
    });
    out.push(`${prefix}/-`, `${prefix}/${doc.length}`);
  } else if (typeof doc === "object" && doc !== null) {
    for (const [key, member] of Object.entries(doc)) {
      out.push(...pointersOf(member, `${prefix}/${escapeToken(key)}`));
    }
    out.push(`${prefix}/new`, `${prefix}/code`, `${prefix}/_type`);
  }
  return out;
}

function valueAt(doc: unknown, pointer: string): unknown {
  let node = doc;
  for (const token of pointer.split("/").slice(1)) {
    const key = token.replaceAll("~1", "/").replaceAll("~0", "~");
    if (typeof node !== "object" || node === null || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

const brokenPointerArb = fc.constantFrom(
  "a",
  "/~2",
  "/a~",
  "/01",
  "/1e0",
  "/__proto__",
  "/a/__proto__/x",
  "/constructor/prototype",
  "/toString",
  "/x/y/z",
);

/** One operation, mostly fitting `doc`, malformed now and then. */
export function operationArb(
  doc: unknown,
  mode: "plain" | "listeners" | "dense",
): fc.Arbitrary<unknown> {
  const known = pointersOf(doc);
  const pointer = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...known) },
    { weight: 1, arbitrary: brokenPointerArb },
  );
  const value = jsonArb(mode);
  const codeValue = fc.oneof(fc.constantFrom("listener", "k1", "k2", "k9"), value);
  const operation = fc.oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constant("add"), path: pointer, value }, plain) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant("remove"), path: pointer }, plain) },
    {
      weight: 4,
      arbitrary: fc.record({ op: fc.constant("replace"), path: pointer, value }, plain),
    },
    {
      weight: 2,
      arbitrary: fc.record({ op: fc.constant("add"), path: pointer, value: codeValue }, plain),
    },
    {
      weight: 2,
      arbitrary: fc.record({ op: fc.constant("replace"), path: pointer, value: codeValue }, plain),
    },
    {
      weight: 2,
      arbitrary: fc.record({ op: fc.constant("move"), from: pointer, path: pointer }, plain),
    },
    {
      weight: 2,
      arbitrary: fc.record({ op: fc.constant("copy"), from: pointer, path: pointer }, plain),
    },
    {
      weight: 2,
      arbitrary: pointer.chain((path) =>
        fc.record(
          {
            op: fc.constant("test"),
            path: fc.constant(path),
            value: fc.oneof(fc.constant(valueAt(doc, path) ?? null), value),
          },
          plain,
        ),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom<unknown>(
        null,
        42,
        [],
        { op: "spam", path: "" },
        { op: "add", path: "/a" },
        { op: "move", path: "/a" },
        { op: "copy", from: 3, path: "/a" },
        { op: "add", path: 7, value: 1 },
        { op: "remove" },
      ),
    },
  );
  return operation;
}

/**
 * Draws a patch operation by operation, each fitting the document as the reference applier left
 * it, so long patches mostly apply and reach deep states; returns the patch.
 */
export function drawPatch(
  g: fc.GeneratorValue,
  doc: unknown,
  mode: "plain" | "listeners" | "dense",
  apply: (doc: unknown, op: unknown) => { ok: true; doc: unknown } | { ok: false },
): unknown[] {
  const patch: unknown[] = [];
  const length = g(fc.integer, { min: 0, max: 10 });
  let current = doc;
  for (let i = 0; i < length; i++) {
    const op = g(() => operationArb(current, mode));
    patch.push(op);
    const result = apply(current, op);
    if (result.ok) current = result.doc;
  }
  return patch;
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}
