import { ListenerCodec, type RenderedTree } from "../app/listeners.ts";
import type { JsonRoute, Role } from "../app/manifest.ts";
import { encodeView } from "../app/view-encoder.ts";
import type { SessionInfo } from "../lenra/backend.ts";
import { ErrorReason, LenraBackendError, ListenerFailedError } from "../lenra/errors.ts";
import type { AppListenerCall, RouteView, ServedApp } from "../lenra/served-app.ts";
import { isPlainObject, type JsonObject, type JsonValue } from "../shared/json.ts";
import { describeError } from "../shared/log.ts";

/**
 * What a test app's view receives besides the state.
 *
 * @example
 * ```ts
 * view: (state, { me, pathParams }) => ({ me, item: state.items[pathParams.id ?? ""] }),
 * ```
 */
export interface ViewContext {
  /** The user's id; `undefined` for a guest. */
  readonly me: string | undefined;
  readonly roles: readonly Role[];
  /** The route's `:params`, decoded. */
  readonly pathParams: Readonly<Record<string, string>>;
  /** The `context` the client sent in the socket params. */
  readonly context: JsonObject;
}

/**
 * What a test app's listener receives besides state, props and event.
 *
 * @example
 * ```ts
 * incrementMine: (state, _props, _event, { me }) => {
 *   if (me) state.perUser[me] = (state.perUser[me] ?? 0) + 1;
 * },
 * ```
 */
export interface ListenerContext<S> extends ViewContext {
  readonly sessionId: string;
  /** The route whose channel carried the `run`. */
  readonly route: string;
  /** Replaces the whole state (mutating it in place works too). */
  setState(next: S): void;
}

/**
 * A route of a test app.
 *
 * @example
 * ```ts
 * routes: { "/items/:id": { roles: ["guest", "user"], view: (state, { pathParams }) => ({ id: pathParams.id }) } },
 * ```
 */
export interface TestRoute<S> {
  /** Roles allowed to join. Defaults to `["user"]`, as Lenra's manifests. */
  roles?: Role[];
  /** Name given in the `routes` reply's `view`. Defaults to the route's path. */
  name?: string;
  /** Renders the route: a JSON object, with `listener(name, props)` objects anywhere in it. */
  view(state: S, context: ViewContext): unknown;
}

/**
 * A listener of a test app; it may mutate the state, replace it, throw, or never settle. A
 * `LenraBackendError` it throws reaches the client as it is; anything else as `listener_error`.
 *
 * @example
 * ```ts
 * listeners: {
 *   add: (state, props) => void (state.count += Number(props?.amount ?? 1)),
 *   refuse: () => { throw new LenraBackendError("not_allowed", "You may not do that.") },
 * },
 * ```
 */
export type TestListener<S> = (
  state: S,
  props: JsonObject | undefined,
  event: unknown,
  context: ListenerContext<S>,
) => void | Promise<void>;

/**
 * One listener call, as recorded by the test app (in `app.calls`).
 *
 * @example
 * ```ts
 * expect(app.calls.map((call) => [call.name, call.userId, call.status])).toEqual([["add", "alice", "ok"]]);
 * ```
 */
export interface ListenerCall {
  readonly name: string;
  readonly props: JsonObject | undefined;
  readonly event: unknown;
  readonly userId: string | undefined;
  readonly sessionId: string;
  readonly route: string;
  status: "pending" | "ok" | "error";
  error?: unknown;
}

interface CompiledRoute<S> {
  readonly path: string;
  readonly segments: readonly string[];
  readonly roles: readonly Role[];
  readonly definition: TestRoute<S>;
}

interface Gate {
  readonly promise: Promise<void>;
  readonly release: () => void;
}

/** Where the test app keeps its state. */
export interface StateHolder<S> {
  readonly state: S;
  replaceState(next: S): void;
}

/**
 * A test app's routes, views and listeners, served to the platform in this process: views are
 * functions of one shared state, listeners change it, and every listener run (or `changed()`)
 * tells the platform the state changed, so every open route renders again. Routes match their
 * path patterns with decoded string `:params`; system listeners are answered without calling
 * anything.
 */
export class InProcessApp<S> implements ServedApp {
  readonly #holder: StateHolder<S>;
  readonly #routes: CompiledRoute<S>[];
  readonly #listeners: Record<string, TestListener<S>>;
  readonly #changeListeners = new Set<() => void>();
  readonly #gates = new Map<string, Gate>();
  /** Codes keyed for this app alone, as a dev server run's are. */
  readonly #codec = new ListenerCodec();
  /** Counts changes: a view rendered before the last one is outdated. */
  #version = 0;
  readonly calls: ListenerCall[] = [];
  /** Views rendered since the app was created. */
  renders = 0;

  constructor(
    holder: StateHolder<S>,
    routes: Record<string, TestRoute<S>>,
    listeners: Record<string, TestListener<S>>,
  ) {
    this.#holder = holder;
    this.#listeners = listeners;
    this.#routes = Object.entries(routes).map(([path, definition]) => {
      if (typeof definition?.view !== "function") {
        throw new TypeError(`createTestApp(options): routes["${path}"].view must be a function.`);
      }
      if (!path.startsWith("/")) {
        throw new TypeError(`createTestApp(options): the route "${path}" must start with "/".`);
      }
      return { path, segments: path.split("/"), roles: definition.roles ?? ["user"], definition };
    });
  }

  routes(roles: readonly Role[]): JsonRoute[] {
    return this.#visible(roles).map((route) => ({
      path: route.path,
      view: { _type: "view", name: route.definition.name ?? route.path },
      roles: [...route.roles],
    }));
  }

  lenraRoutes(): JsonValue[] {
    return [];
  }

  openView(path: string, { identity, context }: SessionInfo): RouteView | undefined {
    const found = this.#match(path, identity.roles);
    if (!found) return undefined;
    const view = found.route.definition.view;
    // What this route showed last: the parts of a new answer equal to it keep their identity.
    let previous: JsonValue | undefined;
    let renderedAt = -1;
    return {
      render: async (): Promise<RenderedTree> => {
        this.renders++;
        renderedAt = this.#version;
        let document: JsonValue;
        try {
          const result = await view(this.#holder.state, {
            me: identity.userId,
            roles: identity.roles,
            pathParams: found.pathParams,
            context,
          });
          document = encodeView(result, { codec: this.#codec, view: path, previous });
          if (!isPlainObject(document)) throw new TypeError("A view must return a JSON object.");
        } catch (error) {
          throw new LenraBackendError(ErrorReason.ViewError, describeError(error), {
            metadata: { route: path },
          });
        }
        previous = document;
        return this.#codec.tree(document);
      },
      // Every view reads the whole state, which every change may touch.
      outdated: () => renderedAt < this.#version,
      close() {},
    };
  }

  async callListener({ name, props, event, userId, from }: AppListenerCall): Promise<void> {
    if (!from) return;
    const listener = Object.hasOwn(this.#listeners, name) ? this.#listeners[name] : undefined;
    if (!listener) throw new LenraBackendError(ErrorReason.ListenerNotFound, "Listener not found");
    const { session, route } = from;
    const call: ListenerCall = {
      name,
      props,
      event,
      userId,
      sessionId: session.sessionId,
      route,
      status: "pending",
    };
    this.calls.push(call);
    await this.#gates.get(name)?.promise;
    try {
      await listener(
        this.#holder.state,
        props === undefined ? undefined : structuredClone(props),
        event,
        {
          me: userId,
          roles: session.identity.roles,
          pathParams: this.#match(route, session.identity.roles)?.pathParams ?? {},
          context: session.context,
          sessionId: session.sessionId,
          route,
          setState: (next) => this.#holder.replaceState(next),
        },
      );
      call.status = "ok";
    } catch (error) {
      call.status = "error";
      call.error = error;
      throw error instanceof LenraBackendError ? error : new ListenerFailedError(name, error);
    } finally {
      // Even a failed listener may have changed the state.
      this.changed();
    }
  }

  onChange(listener: () => void): () => void {
    this.#changeListeners.add(listener);
    return () => this.#changeListeners.delete(listener);
  }

  /** Tells the platform the state changed: every open route renders again. */
  changed(): void {
    this.#version++;
    for (const listener of [...this.#changeListeners]) listener();
  }

  /** Holds calls of the listener `name` before it runs, until the returned function is called. */
  hang(name: string): () => void {
    let gate = this.#gates.get(name);
    if (!gate) {
      let release!: () => void;
      const promise = new Promise<void>((resolve) => {
        release = resolve;
      });
      gate = { promise, release };
      this.#gates.set(name, gate);
    }
    const held = gate;
    return () => {
      if (this.#gates.get(name) === held) this.#gates.delete(name);
      held.release();
    };
  }

  #visible(roles: readonly Role[]): CompiledRoute<S>[] {
    return this.#routes.filter((route) => route.roles.some((role) => roles.includes(role)));
  }

  /** The first visible route whose pattern matches `path`, with its `:params` decoded. */
  #match(
    path: string,
    roles: readonly Role[],
  ): { route: CompiledRoute<S>; pathParams: Record<string, string> } | undefined {
    const parts = path.split("/");
    for (const route of this.#visible(roles)) {
      const pathParams = matchSegments(route.segments, parts);
      if (pathParams) return { route, pathParams };
    }
    return undefined;
  }
}

/**
 * Segments are compared literally except `:name`, which matches one non-empty segment and is
 * given percent-decoded.
 */
function matchSegments(
  expected: readonly string[],
  actual: readonly string[],
): Record<string, string> | undefined {
  if (expected.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < expected.length; i++) {
    const want = expected[i] as string;
    const got = actual[i] as string;
    if (want.startsWith(":") && want.length > 1) {
      if (got === "") return undefined;
      try {
        params[want.slice(1)] = decodeURIComponent(got);
      } catch {
        return undefined;
      }
    } else if (want !== got) {
      return undefined;
    }
  }
  return params;
}
