import type { AppClient } from "./app-client.ts";
import type { DataStore } from "./data/store.ts";
import { canonicalJson, isPlainObject, type JsonObject, type JsonValue } from "./json.ts";
import { type ListenerTarget, listenerCode } from "./listener-codes.ts";
import { isViewObject, parseViewSpec, projectContext, type ViewSpec } from "./manifest.ts";

/** Who a view is rendered for: what `"@me"`, `"@route.<param>"` and context projections read. */
export interface RenderScope {
  /** The user's id; `"@me"` becomes `null` without one, as Lenra's query parser does. */
  readonly userId: string | undefined;
  readonly pathParams: Readonly<Record<string, string>>;
  /** `me`, `roles`, `pathParams` and what the client sent: what context projections pick from. */
  readonly context: Readonly<Record<string, JsonValue>>;
}

/** A view, with its nested views rendered in place and its listeners encoded. */
export interface RenderedTree {
  readonly document: JsonValue;
  /** Every collection a view of the tree read: a change to one of them makes it stale. */
  readonly collections: ReadonlySet<string>;
  /** The listener codes the document holds, and what each stands for. */
  readonly listeners: ReadonlyMap<string, ListenerTarget>;
}

/** A view could not be rendered; `message` says why, for the route's `error` event. */
export class ViewRenderError extends Error {
  override name = "ViewRenderError";
  /** The view that failed. */
  view: string | undefined;

  constructor(message: string, options?: { view?: string | undefined; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.view = options?.view;
  }
}

/**
 * The views one render of a route used. Views stay cached while a lease holds them; a route
 * swaps its lease after each render and releases it when it closes.
 */
export class RenderLease {
  readonly entries = new Set<ViewEntry>();
}

export interface ViewRendererOptions {
  app: AppClient;
  store: DataStore;
  /** How deep views may nest. Defaults to 16. */
  maxDepth?: number | undefined;
}

/** Counters, for tests and the benchmark. */
export interface ViewRendererStats {
  /** Views the app was asked to render. */
  appRenders: number;
  /** View renders answered from a render another route started or finished. */
  shared: number;
  /** Views currently cached. */
  cached: number;
}

interface ViewEntry {
  readonly key: string;
  readonly coll: string | undefined;
  /** The data version the view's find read. */
  readonly epoch: number;
  readonly result: Promise<ViewResult>;
  refs: number;
}

/** What the app answered for one view, ready to be shared by every route that shows it. */
interface ViewResult {
  /** The answer with its listeners encoded; nested views still as the app wrote them. */
  readonly document: JsonValue;
  readonly nested: readonly { readonly path: readonly (string | number)[]; spec: ViewSpec }[];
  readonly listeners: ReadonlyMap<string, ListenerTarget>;
}

interface ResolvedView {
  readonly key: string;
  readonly spec: ViewSpec;
  readonly query: JsonObject | undefined;
  readonly context: JsonObject;
}

interface Accumulator {
  readonly collections: Set<string>;
  readonly listeners: Map<string, ListenerTarget>;
}

/**
 * Renders views for every session, sharing work between them: a view is identified by its name,
 * find (placeholders substituted), props and projected context, and one app call serves every
 * route that shows the same view at the same data version. 200 guests on one route cost one
 * render per change, not 200.
 *
 * A data change makes the views that read a touched collection stale; the next render of any
 * route showing them asks the app again, once.
 *
 * @see PROTOCOL.md §5
 */
export class ViewRenderer {
  readonly #app: AppClient;
  readonly #store: DataStore;
  readonly #maxDepth: number;
  readonly #entries = new Map<string, ViewEntry>();
  readonly #byCollection = new Map<string, Set<ViewEntry>>();
  readonly #changedAt = new Map<string, number>();
  // Resolving (substitution and the key) is pure: routes render the same spec in the same scope
  // again and again.
  readonly #resolved = new WeakMap<ViewSpec, WeakMap<RenderScope, ResolvedView>>();
  #epoch = 0;
  #appRenders = 0;
  #shared = 0;

  constructor(options: ViewRendererOptions) {
    this.#app = options.app;
    this.#store = options.store;
    this.#maxDepth = options.maxDepth ?? 16;
  }

  /** Marks every view that read one of `collections` stale. Call it on every committed change. */
  dataChanged(collections: Iterable<string>): void {
    this.#epoch++;
    for (const coll of collections) {
      this.#changedAt.set(coll, this.#epoch);
      const stale = this.#byCollection.get(coll);
      if (!stale) continue;
      this.#byCollection.delete(coll);
      for (const entry of stale) this.#forget(entry);
    }
  }

  /**
   * Renders `spec` and its nested views for `scope`, holding what it used in `lease`. Rejects
   * with {@link ViewRenderError}; `collections` of a failed render are still added to `read`.
   */
  async render(
    spec: ViewSpec,
    scope: RenderScope,
    lease: RenderLease,
    read: Set<string>,
  ): Promise<RenderedTree> {
    const accumulator: Accumulator = { collections: read, listeners: new Map() };
    const document = await this.#renderTree(spec, scope, lease, accumulator, [], 0);
    return { document, collections: read, listeners: accumulator.listeners };
  }

  /** Gives back what a lease held; views no route holds any more leave the cache. */
  release(lease: RenderLease): void {
    for (const entry of lease.entries) {
      entry.refs--;
      if (entry.refs === 0) this.#forget(entry);
    }
    lease.entries.clear();
  }

  stats(): ViewRendererStats {
    return { appRenders: this.#appRenders, shared: this.#shared, cached: this.#entries.size };
  }

  async #renderTree(
    spec: ViewSpec,
    scope: RenderScope,
    lease: RenderLease,
    accumulator: Accumulator,
    ancestors: readonly string[],
    depth: number,
  ): Promise<JsonValue> {
    const resolved = this.#resolve(spec, scope);
    if (ancestors.includes(resolved.key)) {
      throw new ViewRenderError(
        `The view "${spec.name}" contains itself (with the same find, props and context): the nesting never ends.`,
        { view: spec.name },
      );
    }
    if (depth > this.#maxDepth) {
      throw new ViewRenderError(
        `Views are nested more than ${this.#maxDepth} levels deep (at the view "${spec.name}").`,
        { view: spec.name },
      );
    }
    if (spec.find) accumulator.collections.add(spec.find.coll);
    const entry = this.#acquire(resolved, scope, lease);
    const result = await entry.result;
    for (const [code, target] of result.listeners) accumulator.listeners.set(code, target);
    if (result.nested.length === 0) return result.document;
    const path = [...ancestors, resolved.key];
    const children = await Promise.all(
      result.nested.map(({ spec: child }) =>
        this.#renderTree(child, scope, lease, accumulator, path, depth + 1),
      ),
    );
    return assemble(
      result.document,
      result.nested.map(({ path: at }, index) => [at, children[index] as JsonValue]),
    );
  }

  #resolve(spec: ViewSpec, scope: RenderScope): ResolvedView {
    let byScope = this.#resolved.get(spec);
    const known = byScope?.get(scope);
    if (known) return known;
    const query = spec.find
      ? (substitute(spec.find.query, scope, spec.name) as JsonObject)
      : undefined;
    const context = projectContext(scope.context, spec.context);
    const key = canonicalJson([
      spec.name,
      spec.find?.coll ?? null,
      query ?? null,
      spec.find?.projection ?? null,
      spec.find?.options ?? null,
      spec.props ?? null,
      context,
    ]);
    const resolved: ResolvedView = { key, spec, query, context };
    if (!byScope) {
      byScope = new WeakMap();
      this.#resolved.set(spec, byScope);
    }
    byScope.set(scope, resolved);
    return resolved;
  }

  #acquire(resolved: ResolvedView, scope: RenderScope, lease: RenderLease): ViewEntry {
    let entry = this.#entries.get(resolved.key);
    if (entry && this.#fresh(entry)) {
      if (!lease.entries.has(entry)) this.#shared++;
    } else {
      entry = this.#start(resolved, scope);
    }
    if (!lease.entries.has(entry)) {
      lease.entries.add(entry);
      entry.refs++;
    }
    return entry;
  }

  #fresh(entry: ViewEntry): boolean {
    return entry.coll === undefined || (this.#changedAt.get(entry.coll) ?? 0) <= entry.epoch;
  }

  #start(resolved: ResolvedView, scope: RenderScope): ViewEntry {
    const { spec } = resolved;
    const coll = spec.find?.coll;
    let result: Promise<ViewResult>;
    try {
      // Read now, synchronously: the entry is then exactly as fresh as its epoch says.
      const data = spec.find
        ? this.#store.find(
            spec.find.coll,
            {
              query: resolved.query,
              projection: spec.find.projection,
              options: spec.find.options,
            },
            { userId: scope.userId },
          )
        : [];
      this.#appRenders++;
      result = this.#app
        .view({ view: spec.name, data, props: spec.props ?? {}, context: resolved.context })
        .then((answer) => prepareResult(answer, spec.name));
    } catch (error) {
      result = Promise.reject(error);
    }
    const entry: ViewEntry = {
      key: resolved.key,
      coll,
      epoch: this.#epoch,
      refs: 0,
      result: result.catch((error: unknown) => {
        // A failure is never shared with later renders: the next one asks the app again.
        this.#forget(entry);
        throw asViewError(error, spec.name);
      }),
    };
    this.#entries.set(entry.key, entry);
    if (coll !== undefined) {
      let set = this.#byCollection.get(coll);
      if (!set) {
        set = new Set();
        this.#byCollection.set(coll, set);
      }
      set.add(entry);
    }
    return entry;
  }

  #forget(entry: ViewEntry): void {
    if (this.#entries.get(entry.key) === entry) this.#entries.delete(entry.key);
    if (entry.coll !== undefined) this.#byCollection.get(entry.coll)?.delete(entry);
  }
}

function asViewError(error: unknown, view: string): ViewRenderError {
  if (error instanceof ViewRenderError) {
    error.view ??= view;
    return error;
  }
  const message = error instanceof Error && error.message ? error.message : String(error);
  return new ViewRenderError(`The view "${view}" failed: ${message}`, { view, cause: error });
}

/**
 * Replaces `"@route.<param>"` by the route's parameter and `"@me"` by the user's id (`null` for a
 * guest) in every string of a query.
 */
function substitute(value: JsonValue, scope: RenderScope, view: string): JsonValue {
  if (typeof value === "string") {
    if (value === "@me") return scope.userId ?? null;
    if (value.startsWith("@route.")) {
      const name = value.slice("@route.".length);
      if (!Object.hasOwn(scope.pathParams, name)) {
        throw new ViewRenderError(
          `The view "${view}" queries "${value}", but its route has no parameter "${name}".`,
          { view },
        );
      }
      return scope.pathParams[name] as string;
    }
    return value;
  }
  if (Array.isArray(value)) return value.map((item) => substitute(item, scope, view));
  if (isPlainObject(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, member]) => [key, substitute(member, scope, view)]),
    );
  }
  return value;
}

/**
 * Encodes the listeners of a view's answer (the name and props become a code) and finds its
 * nested views, so one walk serves every route that shows it.
 */
function prepareResult(answer: unknown, view: string): ViewResult {
  const nested: { path: (string | number)[]; spec: ViewSpec }[] = [];
  const listeners = new Map<string, ListenerTarget>();
  const path: (string | number)[] = [];

  const walk = (value: unknown): JsonValue => {
    if (Array.isArray(value)) {
      return value.map((item, index) => {
        path.push(index);
        const walked = walk(item);
        path.pop();
        return walked;
      });
    }
    if (!isPlainObject(value)) return value as JsonValue;
    if (isViewObject(value)) {
      nested.push({
        path: [...path],
        spec: parseViewSpec(
          value,
          `A nested view in "${view}" (at ${pointer(path)})`,
          ViewRenderError,
        ),
      });
      return value as JsonValue;
    }
    const isListener = value._type === "listener";
    if (isListener && (typeof value.name !== "string" || value.name === "")) {
      throw new ViewRenderError(
        `The view "${view}" has a listener without a name at ${pointer(path)}.`,
        { view },
      );
    }
    const entries: [string, JsonValue][] = [];
    for (const [key, member] of Object.entries(value)) {
      if (isListener && (key === "name" || key === "props")) continue;
      path.push(key);
      entries.push([key, walk(member)]);
      path.pop();
    }
    if (isListener) {
      const name = value.name as string;
      const props = isPlainObject(value.props) ? (value.props as JsonObject) : undefined;
      const code = listenerCode(name, props);
      if (!listeners.has(code)) listeners.set(code, { name, props });
      entries.push(["code", code]);
    }
    // fromEntries defines own properties, so a "__proto__" key stays data.
    return Object.fromEntries(entries);
  };

  return { document: walk(answer), nested, listeners };
}

/** Puts each rendered child at its path, copying only the containers on those paths. */
function assemble(
  document: JsonValue,
  children: readonly (readonly [readonly (string | number)[], JsonValue])[],
): JsonValue {
  const copied = new WeakSet<object>();
  let root = document;
  for (const [path, child] of children) {
    if (path.length === 0) {
      root = child;
      continue;
    }
    root = ensureCopied(root, copied);
    let parent = root as Record<string | number, JsonValue>;
    for (let i = 0; i < path.length - 1; i++) {
      const key = path[i] as string | number;
      const next = ensureCopied(parent[key] as JsonValue, copied);
      defineMember(parent, key, next);
      parent = next as Record<string | number, JsonValue>;
    }
    defineMember(parent, path[path.length - 1] as string | number, child);
  }
  return root;
}

function ensureCopied(value: JsonValue, copied: WeakSet<object>): JsonValue {
  if (typeof value !== "object" || value === null || copied.has(value)) return value;
  const copy = Array.isArray(value) ? [...value] : Object.fromEntries(Object.entries(value));
  copied.add(copy);
  return copy;
}

function defineMember(
  target: Record<string | number, JsonValue>,
  key: string | number,
  value: JsonValue,
): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/** A JSON pointer for messages. */
function pointer(path: readonly (string | number)[]): string {
  return path.length === 0 ? "the root" : `/${path.join("/")}`;
}
