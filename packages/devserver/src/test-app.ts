import {
  type BackendSession,
  type ConnectionRefusal,
  type ConnectRequest,
  type JsonRoute,
  type LenraBackend,
  type Role,
  type RouteErrorPayload,
  type RouteHandle,
  type RouteSink,
  type RunMeta,
  refuseConnection,
  type SessionIdentity,
  type SessionInfo,
} from "./backend.ts";
import {
  ErrorReason,
  LenraBackendError,
  ListenerFailedError,
  RouteNotFoundError,
  UnknownListenerError,
} from "./errors.ts";
import { isPlainObject, type JsonObject, type JsonValue, toJsonSnapshot } from "./json.ts";
import { ListenerCodes } from "./listener-codes.ts";
import { describeError } from "./logger.ts";
import { compilePathPattern, type PathPattern } from "./path-pattern.ts";

/** What a test app's view receives besides the state. */
export interface ViewContext {
  /** The user's id; `undefined` for a guest. */
  readonly me: string | undefined;
  readonly roles: readonly Role[];
  /** The route's `:params`, decoded. */
  readonly pathParams: Readonly<Record<string, string>>;
  /** The `context` the client sent in the socket params. */
  readonly context: JsonObject;
}

/** What a test app's listener receives besides state, props and event. */
export interface ListenerContext<S> extends ViewContext {
  readonly sessionId: string;
  /** The route whose channel carried the `run`. */
  readonly route: string;
  /** Replaces the whole state (mutating it in place works too). */
  setState(next: S): void;
}

/** A route of a test app. */
export interface TestRoute<S> {
  /** Roles allowed to join. Defaults to `["user"]`, as Lenra's manifests. */
  roles?: Role[];
  /** Name given in the `routes` reply's `view`. Defaults to the route's path. */
  name?: string;
  /** Renders the route: a JSON object, with `listener(name, props)` objects anywhere in it. */
  view(state: S, context: ViewContext): unknown;
}

/** A listener of a test app; it may mutate the state, replace it, throw, or never settle. */
export type TestListener<S> = (
  state: S,
  props: JsonObject | undefined,
  event: unknown,
  context: ListenerContext<S>,
) => void | Promise<void>;

/** Options of {@link createTestApp}. */
export interface TestAppOptions<S> {
  /** The initial state, shared by every session. */
  state: S;
  /** Routes by path pattern (`/counter`, `/items/:id`), tried in order. */
  routes: Record<string, TestRoute<S>>;
  /** Listeners by name. */
  listeners?: Record<string, TestListener<S>>;
  /**
   * Replaces the default, test-only authentication (see {@link insecureTestToken}): no
   * `token` param is a guest, `token=user:<id>` is that user, anything else is refused.
   */
  authenticate?: (
    request: ConnectRequest,
  ) => SessionIdentity | ConnectionRefusal | Promise<SessionIdentity | ConnectionRefusal>;
}

/** One listener call, as recorded by the test app. */
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

/** Counters of a test app. */
export interface TestAppStats {
  /** Open sessions (one per connected socket). */
  sessions: number;
  /** Open routes over all sessions. */
  openRoutes: number;
  /** Open routes per path. */
  routes: Record<string, number>;
  /** Views rendered since the app was created. */
  renders: number;
}

/** An in-process Lenra app for tests, usable as the backend of `startProtocolServer`. */
export interface TestApp<S> extends LenraBackend {
  /** The current state. */
  readonly state: S;
  /** Changes the state (mutate it or call `setState`), then re-renders every open route. */
  update(change: (state: S) => void | Promise<void>): Promise<void>;
  /** Replaces the state, then re-renders every open route. */
  setState(next: S): Promise<void>;
  /** Re-renders every open route of every session; resolves once the results were delivered. */
  rerender(): Promise<void>;
  /**
   * Makes calls of the listener `name` hang before it runs, so no reply ever comes, until the
   * returned function is called (the held calls then run).
   */
  hang(name: string): () => void;
  /** Refuses connections with this token from now on (answered with HTTP 403). */
  revokeToken(token: string): void;
  /** Every listener call, oldest first. */
  readonly calls: readonly ListenerCall[];
  stats(): TestAppStats;
}

const TEST_TOKEN_PREFIX = "user:";

/**
 * The token the test app's default authentication maps to `userId`. Test-only: it proves
 * nothing, anyone can forge it; real OAuth replaces it.
 */
export function insecureTestToken(userId: string): string {
  return `${TEST_TOKEN_PREFIX}${userId}`;
}

interface CompiledRoute<S> {
  readonly path: string;
  readonly pattern: PathPattern;
  readonly roles: readonly Role[];
  readonly definition: TestRoute<S>;
}

interface Gate {
  readonly promise: Promise<void>;
  readonly release: () => void;
}

/**
 * Creates an in-process app for tests: views are functions of one shared state, listeners
 * change it, and after each listener (or `update`) every open route of every session is
 * re-rendered and diffed by the protocol layer.
 */
export function createTestApp<S>(options: TestAppOptions<S>): TestApp<S> {
  if (!options || !isPlainObject(options.routes)) {
    throw new TypeError("createTestApp(options): `options.routes` must be an object.");
  }
  return new InProcessTestApp(options);
}

class InProcessTestApp<S> implements TestApp<S> {
  #state: S;
  readonly #routes: CompiledRoute<S>[];
  readonly #listeners: Record<string, TestListener<S>>;
  readonly #authenticate: TestAppOptions<S>["authenticate"];
  readonly #sessions = new Set<TestSession<S>>();
  readonly #gates = new Map<string, Gate>();
  readonly #revoked = new Set<string>();
  readonly #calls: ListenerCall[] = [];
  renders = 0;

  constructor(options: TestAppOptions<S>) {
    this.#state = options.state;
    this.#routes = Object.entries(options.routes).map(([path, definition]) => {
      if (typeof definition?.view !== "function") {
        throw new TypeError(`createTestApp(options): routes["${path}"].view must be a function.`);
      }
      return {
        path,
        pattern: compilePathPattern(path),
        roles: definition.roles ?? ["user"],
        definition,
      };
    });
    this.#listeners = options.listeners ?? {};
    this.#authenticate = options.authenticate;
  }

  get state(): S {
    return this.#state;
  }

  get calls(): readonly ListenerCall[] {
    return this.#calls.slice();
  }

  authenticate(
    request: ConnectRequest,
  ): SessionIdentity | ConnectionRefusal | Promise<SessionIdentity | ConnectionRefusal> {
    if (this.#authenticate) return this.#authenticate(request);
    const token = request.params.token;
    if (token === undefined || token === "") return { roles: ["guest"] };
    if (
      typeof token !== "string" ||
      !token.startsWith(TEST_TOKEN_PREFIX) ||
      token.length === TEST_TOKEN_PREFIX.length ||
      this.#revoked.has(token)
    ) {
      return refuseConnection(ErrorReason.InvalidToken);
    }
    return { userId: token.slice(TEST_TOKEN_PREFIX.length), roles: ["user"] };
  }

  openSession(info: SessionInfo): BackendSession {
    const session = new TestSession(this, info);
    this.#sessions.add(session);
    return session;
  }

  async update(change: (state: S) => void | Promise<void>): Promise<void> {
    await change(this.#state);
    await this.rerender();
  }

  async setState(next: S): Promise<void> {
    this.#state = next;
    await this.rerender();
  }

  async rerender(): Promise<void> {
    const renders: Promise<void>[] = [];
    for (const session of this.#sessions) {
      for (const route of session.openRoutes) renders.push(route.schedule());
    }
    await Promise.all(renders);
  }

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

  revokeToken(token: string): void {
    this.#revoked.add(token);
  }

  stats(): TestAppStats {
    const routes: Record<string, number> = {};
    let openRoutes = 0;
    for (const session of this.#sessions) {
      for (const route of session.openRoutes) {
        openRoutes++;
        routes[route.path] = (routes[route.path] ?? 0) + 1;
      }
    }
    return { sessions: this.#sessions.size, openRoutes, routes, renders: this.renders };
  }

  // Internals used by sessions.

  visibleRoutes(roles: readonly Role[]): CompiledRoute<S>[] {
    return this.#routes.filter((route) => route.roles.some((role) => roles.includes(role)));
  }

  listener(name: string): TestListener<S> | undefined {
    return Object.hasOwn(this.#listeners, name) ? this.#listeners[name] : undefined;
  }

  gate(name: string): Promise<void> | undefined {
    return this.#gates.get(name)?.promise;
  }

  replaceState(next: S): void {
    this.#state = next;
  }

  recordCall(call: ListenerCall): void {
    this.#calls.push(call);
  }

  forget(session: TestSession<S>): void {
    this.#sessions.delete(session);
  }
}

class TestSession<S> implements BackendSession {
  readonly #app: InProcessTestApp<S>;
  readonly info: SessionInfo;
  readonly codes = new ListenerCodes();
  readonly openRoutes = new Set<OpenRoute<S>>();

  constructor(app: InProcessTestApp<S>, info: SessionInfo) {
    this.#app = app;
    this.info = info;
  }

  get app(): InProcessTestApp<S> {
    return this.#app;
  }

  routes(): JsonRoute[] {
    return this.#app.visibleRoutes(this.info.identity.roles).map((route) => ({
      path: route.path,
      view: { _type: "view", name: route.definition.name ?? route.path },
      roles: [...route.roles],
    }));
  }

  async openRoute(path: string, sink: RouteSink): Promise<RouteHandle> {
    const found = this.#match(path);
    if (!found) throw new RouteNotFoundError(path);
    const route = new OpenRoute(this, found.route, path, found.pathParams, sink);
    this.openRoutes.add(route);
    const initial = await route.first;
    return {
      initial,
      close: () => {
        route.close();
        this.openRoutes.delete(route);
      },
    };
  }

  async run(code: string, event: unknown, meta: RunMeta): Promise<void> {
    const target = this.codes.resolve(code);
    if (!target) throw new UnknownListenerError();
    const listener = this.#app.listener(target.name);
    if (!listener) {
      throw new LenraBackendError(ErrorReason.ListenerNotFound, "Listener not found");
    }
    const { identity, sessionId, context } = this.info;
    const call: ListenerCall = {
      name: target.name,
      props: target.props,
      event,
      userId: identity.userId,
      sessionId,
      route: meta.route,
      status: "pending",
    };
    this.#app.recordCall(call);
    await this.#app.gate(target.name);
    let failed = false;
    let failure: unknown;
    try {
      await listener(
        this.#app.state,
        target.props === undefined ? undefined : structuredClone(target.props),
        event,
        {
          me: identity.userId,
          roles: identity.roles,
          pathParams: this.#match(meta.route)?.pathParams ?? {},
          context,
          sessionId,
          route: meta.route,
          setState: (next) => this.#app.replaceState(next),
        },
      );
    } catch (error) {
      failed = true;
      failure = error;
    }
    // Even a failed listener may have changed the state; and clients must get the new view
    // before the reply, as on Lenra.
    await this.#app.rerender();
    if (failed) {
      call.status = "error";
      call.error = failure;
      throw failure instanceof LenraBackendError
        ? failure
        : new ListenerFailedError(target.name, failure);
    }
    call.status = "ok";
  }

  close(): void {
    for (const route of this.openRoutes) route.close();
    this.openRoutes.clear();
    this.#app.forget(this);
  }

  #match(
    path: string,
  ): { route: CompiledRoute<S>; pathParams: Record<string, string> } | undefined {
    for (const route of this.#app.visibleRoutes(this.info.identity.roles)) {
      const pathParams = route.pattern.match(path);
      if (pathParams) return { route, pathParams };
    }
    return undefined;
  }
}

type RenderResult = { ok: true; document: JsonValue } | { ok: false; error: RouteErrorPayload };

/**
 * One route open in one session. Renders never overlap and requests made while one runs are
 * folded into a single next render, so results reach the sink in order and the last one always
 * reflects the latest state, however slow or async the view is.
 */
class OpenRoute<S> {
  readonly #session: TestSession<S>;
  readonly #route: CompiledRoute<S>;
  readonly path: string;
  readonly #pathParams: Record<string, string>;
  readonly #sink: RouteSink;
  #dirty = false;
  #running = false;
  #loop: Promise<void> = Promise.resolve();
  #closed = false;
  #firstDelivered = false;
  #resolveFirst!: (document: JsonValue | undefined) => void;
  /** The first render's document, `undefined` when it failed (the error went to the sink). */
  readonly first = new Promise<JsonValue | undefined>((resolve) => {
    this.#resolveFirst = resolve;
  });

  constructor(
    session: TestSession<S>,
    route: CompiledRoute<S>,
    path: string,
    pathParams: Record<string, string>,
    sink: RouteSink,
  ) {
    this.#session = session;
    this.#route = route;
    this.path = path;
    this.#pathParams = pathParams;
    this.#sink = sink;
    this.schedule();
  }

  /** Asks for a render; resolves once a render that started after this call was delivered. */
  schedule(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#dirty = true;
    if (!this.#running) {
      this.#running = true;
      this.#loop = this.#renderLoop();
    }
    return this.#loop;
  }

  close(): void {
    this.#closed = true;
    if (!this.#firstDelivered) {
      this.#firstDelivered = true;
      this.#resolveFirst(undefined);
    }
  }

  async #renderLoop(): Promise<void> {
    try {
      while (this.#dirty && !this.#closed) {
        this.#dirty = false;
        const result = await this.#render();
        if (this.#closed) return;
        this.#deliver(result);
      }
    } finally {
      // Reset before returning, with no await in between, so a schedule() racing the end of
      // the loop starts a new one instead of joining a loop that will not render again.
      this.#running = false;
    }
  }

  async #render(): Promise<RenderResult> {
    const { app, info, codes } = this.#session;
    app.renders++;
    try {
      const view = await this.#route.definition.view(app.state, {
        me: info.identity.userId,
        roles: info.identity.roles,
        pathParams: this.#pathParams,
        context: info.context,
      });
      const document = toJsonSnapshot(view);
      if (!isPlainObject(document)) throw new TypeError("A view must return a JSON object.");
      return { ok: true, document: codes.encode(document) };
    } catch (error) {
      return {
        ok: false,
        error: {
          message: describeError(error),
          reason: ErrorReason.ViewError,
          metadata: { route: this.path },
        },
      };
    }
  }

  #deliver(result: RenderResult): void {
    if (!this.#firstDelivered) {
      this.#firstDelivered = true;
      this.#resolveFirst(result.ok ? result.document : undefined);
      if (!result.ok) this.#sink.error(result.error);
      return;
    }
    if (result.ok) this.#sink.update(result.document);
    else this.#sink.error(result.error);
  }
}
