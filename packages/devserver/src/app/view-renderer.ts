import {
  decodeObjectIds,
  type PlaceholderParams,
  paramRefs,
  replaceParams,
} from "../data/placeholders.ts";
import { type DataStore, type DocumentChange, queryMatcher } from "../data/store.ts";
import { DevServerError } from "../shared/errors.ts";
import {
  canonicalJson,
  defineMember,
  isPlainObject,
  type JsonObject,
  type JsonValue,
} from "../shared/json.ts";
import type { AppClient } from "./client.ts";
import { type ListenerCodec, pointer } from "./listeners.ts";
import { parseViewSpec, projectContext, type ViewSpec } from "./manifest.ts";
import { encodeView } from "./view-encoder.ts";

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
  /** Makes the listener codes of the views' answers. */
  codec: ListenerCodec;
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
  /** Whether a document (as it was or is after a change) can be in the find's result. */
  readonly matches: ((doc: object) => boolean) | undefined;
  readonly result: Promise<ViewResult>;
  refs: number;
  /** False once a change its find can see made it stale, or once it failed. */
  current: boolean;
}

/** What the app answered for one view, ready to be shared by every route that shows it. */
interface ViewResult {
  /** The answer with its listeners encoded; nested views still as the app wrote them. */
  readonly document: JsonValue;
  readonly nested: readonly { readonly path: readonly (string | number)[]; spec: ViewSpec }[];
}

interface ResolvedView {
  readonly key: string;
  readonly spec: ViewSpec;
  readonly query: JsonObject | undefined;
  readonly context: JsonObject;
}

/**
 * Renders views for every session, sharing work between them: a view is identified by its name,
 * find (placeholders substituted), props and projected context, and one app call serves every
 * route that shows the same view with the same data. 200 guests on one route cost one render
 * per change, not 200.
 *
 * A data change makes stale the views whose find can see a changed document: one that matched
 * their query before the change or matches it after. Other views, and views without a find,
 * stay as they are; the next render of a route showing a stale view asks the app again, once,
 * and the parts of the new answer equal to the last one's are kept by identity.
 *
 * @see PROTOCOL.md §5
 */
export class ViewRenderer {
  readonly #app: AppClient;
  readonly #store: DataStore;
  readonly #codec: ListenerCodec;
  readonly #maxDepth: number;
  readonly #notice: (key: string, message: string) => void;
  /** The latest entry of each view a route holds, current or stale. */
  readonly #entries = new Map<string, ViewEntry>();
  /** The current entries with a find, by collection. */
  readonly #byCollection = new Map<string, Set<ViewEntry>>();
  // Resolving (substitution and the key) is pure: routes render the same spec in the same scope
  // again and again.
  readonly #resolved = new WeakMap<ViewSpec, WeakMap<RenderScope, ResolvedView>>();
  /** Nested view objects already read, so an unchanged one keeps its spec (and its resolution). */
  readonly #nestedSpecs = new WeakMap<object, ViewSpec>();
  #appRenders = 0;
  #shared = 0;

  constructor(options: ViewRendererOptions) {
    this.#app = options.app;
    this.#store = options.store;
    this.#codec = options.codec;
    this.#maxDepth = options.maxDepth ?? 16;
    this.#notice = options.notice ?? (() => {});
  }

  /** Marks stale every view whose find can see one of `changes`. Call it on every committed change. */
  dataChanged(changes: readonly DocumentChange[]): void {
    // A bulk write (an insertMany of thousands) is not worth a test per document and view.
    if (changes.length > MAX_TESTED_CHANGES) {
      for (const { coll } of changes) {
        for (const entry of this.#byCollection.get(coll) ?? []) this.#retire(entry);
      }
      return;
    }
    for (const { coll, before, after } of changes) {
      const entries = this.#byCollection.get(coll);
      if (!entries) continue;
      for (const entry of entries) {
        if (sees(entry, before) || sees(entry, after)) this.#retire(entry);
      }
    }
  }

  /** Renders `spec` and its nested views for `scope`, holding what it used in `lease`. */
  render(spec: ViewSpec, scope: RenderScope, lease: RenderLease): Promise<JsonValue> {
    return this.#renderTree(spec, scope, lease, [], 0);
  }

  /** True when a view `lease` holds went stale (or failed): the route should render again. */
  outdated(lease: RenderLease): boolean {
    for (const entry of lease.entries) if (!entry.current) return true;
    return false;
  }

  /** Gives back what a lease held; views no route holds any more leave the cache. */
  release(lease: RenderLease): void {
    for (const entry of lease.entries) {
      entry.refs--;
      if (entry.refs === 0) this.#drop(entry);
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
    const entry = this.#acquire(resolved, lease);
    const result = await entry.result;
    if (result.nested.length === 0) return result.document;
    const path = [...ancestors, resolved.key];
    const children = await Promise.all(
      result.nested.map(({ spec: child }) =>
        this.#renderTree(child, scope.nested, lease, path, depth + 1),
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
    if (entry?.current) {
      if (!lease.entries.has(entry)) this.#shared++;
    } else {
      entry = this.#start(resolved, entry);
    }
    if (!lease.entries.has(entry)) {
      lease.entries.add(entry);
      entry.refs++;
    }
    return entry;
  }

  /** Asks the app for a view; `earlier` is the view's last entry, whose answer it compares with. */
  #start(resolved: ResolvedView, earlier: ViewEntry | undefined): ViewEntry {
    const { spec, query } = resolved;
    const coll = spec.find?.coll;
    let matches: ViewEntry["matches"];
    let result: Promise<ViewResult>;
    try {
      // A query mingo refuses fails the find below; until then, any change may matter to it.
      if (query) matches = tryMatcher(query);
      // Read now, synchronously: the entry then reflects every change made before this point.
      const data = spec.find
        ? this.#store.find(spec.find.coll, {
            query,
            projection: spec.find.projection,
            options: spec.find.options,
          })
        : [];
      this.#appRenders++;
      const previous = earlier?.result.then(
        (last) => last.document,
        () => undefined,
      );
      result = Promise.all([
        this.#app.view({
          view: spec.name,
          data,
          props: spec.props ?? {},
          context: resolved.context,
        }),
        previous,
      ]).then(([answer, last]) => this.#prepare(answer, spec.name, last));
    } catch (error) {
      result = Promise.reject(error);
    }
    const entry: ViewEntry = {
      key: resolved.key,
      coll,
      matches,
      refs: 0,
      current: true,
      result: result.catch((error: unknown) => {
        // A failure is never shared with later renders: the next one asks the app again.
        this.#retire(entry);
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

  /**
   * Prepares a view's answer as Lenra's JSON builder does, once for every route that shows it:
   * an answer with a `view` key is that key's value (Lenra's `ApplicationServices.fetch_view`);
   * `{ _type: "view" }` objects are nested views, rendered later; listeners are encoded (see
   * {@link encodeView}), the parts equal to the `previous` answer's kept by identity.
   *
   * @see PROTOCOL.md §4
   */
  #prepare(answer: unknown, view: string, previous: JsonValue | undefined): ViewResult {
    const nested: { path: (string | number)[]; spec: ViewSpec }[] = [];
    let root = answer;
    if (isPlainObject(answer) && Object.hasOwn(answer, "view")) {
      const dropped = Object.keys(answer).filter((key) => key !== "view");
      if (dropped.length > 0) {
        this.#notice(
          `view-key:${view}`,
          `The view "${view}" answered an object with a "view" key: Lenra keeps only that key's value and drops ${dropped.map((key) => `"${key}"`).join(", ")}, and so does the dev server.`,
        );
      }
      root = answer.view;
    }
    const document = encodeView(root, {
      codec: this.#codec,
      view,
      previous,
      notice: this.#notice,
      nestedView: (value, path) => {
        let spec = this.#nestedSpecs.get(value);
        if (!spec) {
          spec = parseViewSpec(
            value,
            `A nested view in "${view}" (at ${pointer(path)})`,
            ViewRenderError,
          );
          this.#nestedSpecs.set(value, spec);
        }
        nested.push({ path: [...path], spec });
      },
    });
    return { document, nested };
  }

  /** The entry is stale (or failed): the next render asks the app again. */
  #retire(entry: ViewEntry): void {
    entry.current = false;
    if (entry.coll !== undefined) this.#byCollection.get(entry.coll)?.delete(entry);
  }

  /** No route holds the entry any more. */
  #drop(entry: ViewEntry): void {
    this.#retire(entry);
    if (this.#entries.get(entry.key) === entry) this.#entries.delete(entry.key);
  }
}

/** Beyond this many documents in one change, every view of their collections is stale. */
const MAX_TESTED_CHANGES = 256;

/** Whether `doc` can be in the entry's find result; true when that cannot be told. */
function sees(entry: ViewEntry, doc: object | undefined): boolean {
  if (doc === undefined) return false;
  try {
    return entry.matches === undefined || entry.matches(doc);
  } catch {
    return true;
  }
}

/** The query's matcher; `undefined` (any change may matter) for a query mingo refuses. */
function tryMatcher(query: JsonObject): ViewEntry["matches"] {
  try {
    return queryMatcher(query);
  } catch {
    return undefined;
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
