import { DevServerError } from "../shared/errors.ts";
import { isPlainObject, type JsonObject, type JsonValue, toJsonSnapshot } from "../shared/json.ts";

/**
 * A role a session holds; Lenra gives `guest` without a token and `user` with one.
 *
 * @example
 * ```ts
 * const roles: Role[] = ["guest", "user"];
 * ```
 */
export type Role = "guest" | "user" | (string & {});

/**
 * A JSON route as a manifest declares it, and as the `routes` topic lists it.
 *
 * @example
 * ```ts
 * const route: JsonRoute = { path: "/counter/:id", view: { _type: "view", name: "counter" }, roles: ["user"] };
 * ```
 */
export interface JsonRoute {
  path: string;
  view: JsonValue;
  roles?: Role[];
}

/** A view as an app declares it: in a route, or nested in another view's result. */
export interface ViewSpec {
  readonly name: string;
  readonly find: FindSpec | undefined;
  readonly props: JsonObject | undefined;
  /** Which context keys the view receives (`{ me: true }`); none without it, as on Lenra. */
  readonly context: JsonObject | undefined;
}

/** The data a view asks for. */
export interface FindSpec {
  readonly coll: string;
  readonly query: JsonObject;
  readonly projection: JsonObject | undefined;
  readonly options: JsonObject | undefined;
}

/** A JSON route of the manifest, compiled. */
export interface ManifestRoute {
  readonly path: string;
  /** Defaults to `["user"]`, as on Lenra. */
  readonly roles: readonly Role[];
  readonly view: ViewSpec;
  /** The route as the manifest wrote it, for the `routes` topic. */
  readonly declared: JsonRoute;
}

/** A route of the manifest's `lenra` part (Lenra components), which the dev server does not serve. */
export interface LenraComponentRoute {
  readonly path: string;
  readonly roles: readonly Role[];
  /** The route as the manifest wrote it, for the `routes` topic in `lenra` mode. */
  readonly declared: JsonValue;
}

/** The app's manifest cannot be used; the message says what to fix. */
export class ManifestError extends DevServerError<"invalid_manifest"> {
  override name = "ManifestError";

  constructor(message: string) {
    super("invalid_manifest", message);
  }
}

/**
 * The routes of an app, as the platform uses them: what the app answered to `POST {}`.
 *
 * @example
 * ```ts
 * const server = await startDevServer({ app: "./my-app" });
 * server.manifest.routes.map((route) => route.path); // ["/counter/global", "/counter/me"]
 * ```
 */
export interface Manifest {
  readonly routes: readonly ManifestRoute[];
  /**
   * The manifest's `lenra.routes`: views of Lenra's own UI components, which only Lenra's client
   * renders. The dev server lists them (at startup, and on the `routes` topic in `lenra` mode)
   * and serves none.
   */
  readonly lenraRoutes: readonly LenraComponentRoute[];
}

/**
 * Reads the JSON routes of what the app answered to `POST {}`
 * (`{ json: { routes: [{ path, view, roles? }] } }`). Throws {@link ManifestError}.
 *
 * @see PROTOCOL.md §3, §5
 */
export function parseManifest(value: unknown): Manifest {
  if (!isPlainObject(value)) {
    throw new ManifestError("The app's manifest is not a JSON object.");
  }
  const json = value.json;
  let routes: ManifestRoute[] = [];
  if (json !== undefined) {
    if (!isPlainObject(json) || !Array.isArray(json.routes)) {
      throw new ManifestError('The manifest\'s "json" must be an object with a "routes" array.');
    }
    routes = json.routes.map((route, index) => parseRoute(route, `json.routes[${index}]`));
  }
  // The Lenra-component routes are only listed: a malformed entry is skipped, not refused.
  const lenra = value.lenra;
  const lenraRoutes: LenraComponentRoute[] = [];
  if (isPlainObject(lenra) && Array.isArray(lenra.routes)) {
    for (const route of lenra.routes) {
      if (!isPlainObject(route) || typeof route.path !== "string") continue;
      lenraRoutes.push({
        path: route.path,
        roles: readRoles(route.roles) ?? ["user"],
        declared: toJsonSnapshot(route),
      });
    }
  }
  return { routes, lenraRoutes };
}

function readRoles(value: unknown): Role[] | undefined {
  return Array.isArray(value) && value.every((role) => typeof role === "string")
    ? [...value]
    : undefined;
}

function parseRoute(value: unknown, where: string): ManifestRoute {
  if (!isPlainObject(value)) throw new ManifestError(`${where} is not an object.`);
  const { path, roles } = value;
  if (typeof path !== "string" || !path.startsWith("/")) {
    throw new ManifestError(`${where}.path must be a string starting with "/".`);
  }
  if (
    roles !== undefined &&
    (!Array.isArray(roles) || !roles.every((role) => typeof role === "string"))
  ) {
    throw new ManifestError(`${where}.roles must be an array of role names.`);
  }
  const view = parseViewSpec(value.view, `${where}.view`, ManifestError);
  const declared: JsonRoute = { path, view: toJsonSnapshot(value.view) };
  if (roles !== undefined) declared.roles = [...(roles as string[])];
  return {
    path,
    roles: (roles as Role[] | undefined) ?? ["user"],
    view,
    declared,
  };
}

/**
 * Reads a view object: `{ _type: "view", name, find?: { coll, query, projection?, options? },
 * props?, context? }`, and the older `coll` / `query` at the top that Lenra still accepts.
 * Throws `error` naming `where` when it is malformed.
 */
export function parseViewSpec(
  value: unknown,
  where: string,
  error: new (message: string) => Error,
): ViewSpec {
  if (!isPlainObject(value)) throw new error(`${where} is not a view object.`);
  const { name, props, context } = value;
  if (typeof name !== "string" || name === "") {
    throw new error(`${where}.name must be the name of a view.`);
  }
  if (props !== undefined && props !== null && !isPlainObject(props)) {
    throw new error(`${where}.props must be an object.`);
  }
  if (context !== undefined && context !== null && !isPlainObject(context)) {
    throw new error(`${where}.context must be an object such as { "me": true }.`);
  }
  let find = value.find;
  if (find === undefined && typeof value.coll === "string") {
    find = { coll: value.coll, query: value.query ?? {} };
  }
  return {
    name,
    find: find === undefined || find === null ? undefined : parseFind(find, `${where}.find`, error),
    props: isPlainObject(props) ? (toJsonSnapshot(props) as JsonObject) : undefined,
    context: isPlainObject(context) ? (toJsonSnapshot(context) as JsonObject) : undefined,
  };
}

function parseFind(value: unknown, where: string, error: new (message: string) => Error): FindSpec {
  if (!isPlainObject(value)) throw new error(`${where} must be an object.`);
  const { coll, query, projection, options } = value;
  if (typeof coll !== "string" || coll === "") {
    throw new error(`${where}.coll must be a collection name.`);
  }
  const object = (member: unknown, name: string): JsonObject | undefined => {
    if (member === undefined || member === null) return undefined;
    if (!isPlainObject(member)) throw new error(`${where}.${name} must be an object.`);
    return toJsonSnapshot(member) as JsonObject;
  };
  return {
    coll,
    query: object(query, "query") ?? {},
    projection: object(projection, "projection"),
    options: object(options, "options"),
  };
}

/**
 * Projects a view's context the way Lenra does: without a projection the view gets `{}`;
 * with one, each key set to `true` is copied, `null` when the context lacks it.
 */
export function projectContext(
  context: Readonly<Record<string, JsonValue>>,
  projection: JsonObject | undefined,
): JsonObject {
  const projected: JsonObject = {};
  if (!projection) return projected;
  for (const [key, wanted] of Object.entries(projection)) {
    if (wanted !== true) continue;
    // Defined, not assigned, so a "__proto__" key stays data and never reaches a prototype.
    Object.defineProperty(projected, key, {
      value: Object.hasOwn(context, key) ? (context[key] as JsonValue) : null,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return projected;
}
