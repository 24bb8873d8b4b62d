import {
  decodeObjectIds,
  type PlaceholderParams,
  paramRefs,
  replaceParams,
} from "../data/placeholders.ts";
import type { DataStore } from "../data/store.ts";
import { DevServerError } from "../shared/errors.ts";
import { canonicalJson, isPlainObject, type JsonObject, type JsonValue } from "../shared/json.ts";
import type { AppClient } from "./client.ts";
import { encodeListeners, type ListenerTarget, pointer, type RenderedTree } from "./listeners.ts";
import { parseViewSpec, projectContext, type ViewSpec } from "./manifest.ts";

/** Who a view is rendered for: what placeholders in its find and its context projection read. */
export interface RenderScope {
  /** What `"@me"` (`null` for a guest), `"@route.<param>"` and `"@roles"` stand for. */
  readonly params: PlaceholderParams;
  /** `me`, `roles`, `pathParams` and what the client sent: what context projections pick from. */
  readonly context: Readonly<Record<string, JsonValue>>;
  /** The scope of the views nested in this one's result: Lenra gives them no route parameters. */
  readonly nested: RenderScope;
}

/**
 * The scope of a route's view for a session, and of the views nested in it. `me` is the user's
 * id (`null` for a guest); the platform's keys win over what the client sent under the same names.
 */
export function createRenderScope(
  userId: string | undefined,
  roles: readonly string[],
  pathParams: Readonly<Record<string, JsonValue>>,
  clientContext: Readonly<Record<string, JsonValue>>,
): RenderScope {
  const me = userId ?? null;
  const platform = { me, roles: [...roles] };
  const nested: RenderScope = {
    params: platform,
    context: { ...clientContext, ...platform, pathParams: null },
    get nested() {
      return nested;
    },
  };
  return {
    params: { ...platform, route: { ...pathParams } },
    context: { ...clientContext, ...platform, pathParams: { ...pathParams } },
    nested,
  };
}

/** A view could not be rendered; `message` says why, for the route's `error` event. */
export class ViewRenderError extends DevServerError<"view_error"> {
  override name = "ViewRenderError";
  /** The view that failed. */
  view: string | undefined;

  constructor(message: string, options?: { view?: string | undefined; cause?: unknown }) {
    super("view_error", message, options);
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
  /**
   * Hears of what an app does that Lenra treats in a surprising way (a placeholder it replaces by
   * `null`, a key it drops); `key` is the same for the same thing, to say it once.
   */
  notice?: ((key: string, message: string) => void) | undefined;
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
  readonly #notice: (key: string, message: string) => void;
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
    this.#notice = options.notice ?? (() => {});
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
    const entry = this.#acquire(resolved, lease);
    const result = await entry.result;
    for (const [code, target] of result.listeners) accumulator.listeners.set(code, target);
    if (result.nested.length === 0) return result.document;
    const path = [...ancestors, resolved.key];
    const children = await Promise.all(
      result.nested.map(({ spec: child }) =>
        this.#renderTree(child, scope.nested, lease, accumulator, path, depth + 1),
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
    const query = spec.find ? this.#substitute(spec.find.query, scope, spec.name) : undefined;
    if (spec.context?.roles === true) this.#warnRoles(spec.name);
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

  /** Lenra's substitution in a find's query: references, then `ObjectId(<hex>)` strings. */
  #substitute(query: JsonObject, scope: RenderScope, view: string): JsonObject {
    if (paramRefs(query).includes("@roles")) this.#warnRoles(view);
    const replaced = replaceParams(query, scope.params, (reference) =>
      this.#notice(
        `missing:${view}:${reference}`,
        reference.startsWith("@route.") && scope.nested === scope
          ? `The nested view "${view}" queries "${reference}": Lenra gives nested views no route parameters, so it is null. Pass the value in the view's props instead.`
          : `The view "${view}" queries "${reference}", which names nothing: Lenra replaces it by null, and so does the dev server.`,
      ),
    );
    return decodeObjectIds(replaced);
  }

  #warnRoles(view: string): void {
    this.#notice(
      `roles:${view}`,
      `The view "${view}" reads the session's roles ("@roles" or context.roles): Lenra's server gives the user's id there instead (a defect in its route server). The dev server gives the roles; do not rely on them until Lenra does.`,
    );
  }

  #acquire(resolved: ResolvedView, lease: RenderLease): ViewEntry {
    let entry = this.#entries.get(resolved.key);
    if (entry && this.#fresh(entry)) {
      if (!lease.entries.has(entry)) this.#shared++;
    } else {
      entry = this.#start(resolved);
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

  #start(resolved: ResolvedView): ViewEntry {
    const { spec } = resolved;
    const coll = spec.find?.coll;
    let result: Promise<ViewResult>;
    try {
      // Read now, synchronously: the entry is then exactly as fresh as its epoch says.
      const data = spec.find
        ? this.#store.find(spec.find.coll, {
            query: resolved.query,
            projection: spec.find.projection,
            options: spec.find.options,
          })
        : [];
      this.#appRenders++;
      result = this.#app
        .view({ view: spec.name, data, props: spec.props ?? {}, context: resolved.context })
        .then((answer) => prepareResult(answer, spec.name, this.#notice));
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
 * Prepares a view's answer as Lenra's JSON builder does, once for every route that shows it:
 * an answer with a `view` key is that key's value (Lenra's `ApplicationServices.fetch_view`);
 * `{ _type: "view" }` objects are nested views, rendered later; listeners are encoded (see
 * {@link encodeListeners}).
 *
 * @see PROTOCOL.md §4
 */
function prepareResult(
  answer: unknown,
  view: string,
  notice: (key: string, message: string) => void,
): ViewResult {
  const nested: { path: (string | number)[]; spec: ViewSpec }[] = [];
  let root = answer;
  if (isPlainObject(answer) && Object.hasOwn(answer, "view")) {
    const dropped = Object.keys(answer).filter((key) => key !== "view");
    if (dropped.length > 0) {
      notice(
        `view-key:${view}`,
        `The view "${view}" answered an object with a "view" key: Lenra keeps only that key's value and drops ${dropped.map((key) => `"${key}"`).join(", ")}, and so does the dev server.`,
      );
    }
    root = answer.view;
  }
  const { document, listeners } = encodeListeners(root, {
    view,
    notice,
    nestedView: (value, path) =>
      nested.push({
        path,
        spec: parseViewSpec(
          value,
          `A nested view in "${view}" (at ${pointer(path)})`,
          ViewRenderError,
        ),
      }),
  });
  return { document, nested, listeners };
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
