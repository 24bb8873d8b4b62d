import { randomBytes } from "node:crypto";
import { type AppClient, AppRequestError } from "./app-client.ts";
import {
  type BackendSession,
  type ConnectionRefusal,
  type ConnectRequest,
  type JsonRoute,
  type LenraBackend,
  type RouteHandle,
  type RouteSink,
  type RunMeta,
  refuseConnection,
  type SessionIdentity,
  type SessionInfo,
} from "./backend.ts";
import type { DataApiTokenInfo } from "./data/api.ts";
import type { DataStore } from "./data/store.ts";
import {
  appFailure,
  ErrorReason,
  LenraBackendError,
  type LenraErrorPayload,
  RouteNotFoundError,
  UnknownListenerError,
} from "./errors.ts";
import { canonicalJson, isPlainObject, type JsonObject, type JsonValue } from "./json.ts";
import type { ListenerTarget } from "./listener-codes.ts";
import { createLog, type DevServerLogger, describeError, type Log } from "./logger.ts";
import type { Manifest, ManifestRoute } from "./manifest.ts";
import type { RouteParam } from "./route-path.ts";
import {
  createRenderScope,
  RenderLease,
  type RenderScope,
  ViewRenderError,
  ViewRenderer,
} from "./view-renderer.ts";

/**
 * The system listeners Lenra's server calls. `@lenra/app` also names `onSessionStop`,
 * `onUserLeave` and `onEnvStop`, which Lenra never calls, and neither does the dev server.
 *
 * @see PROTOCOL.md §5
 */
export const SystemListener = {
  EnvStart: "onEnvStart",
  UserFirstJoin: "onUserFirstJoin",
  SessionStart: "onSessionStart",
} as const;

export type SystemListener = (typeof SystemListener)[keyof typeof SystemListener];

/** Tells who an access token belongs to; `undefined` refuses it. */
export type VerifyAccessToken = (
  token: string,
) => Promise<{ userId: string } | undefined> | { userId: string } | undefined;

export interface LenraAppBackendOptions {
  app: AppClient;
  manifest: Manifest;
  store: DataStore;
  /** Checks a socket's `token`; without it every token is refused and only guests connect. */
  verifyAccessToken?: VerifyAccessToken | undefined;
  /**
   * TEST ONLY: also accepts `token=user:<id>` (see `insecureTestToken`) as that user, without
   * any check. Anyone can forge such a token. Defaults to `false`.
   */
  insecureTestTokens?: boolean | undefined;
  /** How deep views may nest. Defaults to 16. */
  maxViewDepth?: number | undefined;
  logger?: DevServerLogger | undefined;
}

/** Counters of a running backend. */
export interface LenraAppBackendStats {
  sessions: number;
  openRoutes: number;
  /** Groups of open routes rendered together (same path, user, roles and client context). */
  renderGroups: number;
  /** Views the app was asked to render since the start. */
  viewRenders: number;
  /** View renders served from another route's render. */
  sharedRenders: number;
  /** View results kept because an open route shows them. */
  cachedViews: number;
  /** Listeners the app was asked to run, system listeners included. */
  listenerCalls: number;
}

const KNOWN_USERS_KEY = "knownUsers";
const TEST_TOKEN_PREFIX = "user:";
const NO_LISTENER = /^No listener found for /;

/** What Lenra refuses when a system listener fails, for the log line that says so. */
const REFUSED: Record<SystemListener, string> = {
  onEnvStart: "every connection (the environment cannot start)",
  onUserFirstJoin:
    "this user's first connection (the user is recorded first, so it is not called again)",
  onSessionStart: "every connection",
};

/**
 * The Lenra platform in front of a running `@lenra/app` app, as Lenra's server behaves: JSON
 * routes from its manifest, views rendered from the data store and shared between sessions,
 * listeners run one at a time per session with a data API token per call, the system
 * listeners Lenra calls, and live updates after every data change. The environment starts
 * (`onEnvStart`) with the first session and stops when the last one ends, as on Lenra.
 *
 * @see PROTOCOL.md §3–5
 */
export class LenraAppBackend implements LenraBackend {
  readonly #app: AppClient;
  readonly #manifest: Manifest;
  readonly #store: DataStore;
  readonly #verify: VerifyAccessToken | undefined;
  readonly #insecureTestTokens: boolean;
  readonly #log: Log;
  readonly #renderer: ViewRenderer;
  readonly #sessions = new Set<AppSession>();
  readonly #groups = new Map<string, RouteGroup>();
  readonly #tokens = new Map<string, DataApiTokenInfo>();
  readonly #noticed = new Set<string>();
  readonly #unsubscribe: () => void;
  #apiUrl: string | undefined;
  /** The environment's start (`onEnvStart`), while sessions are open or opening. */
  #environment: Promise<void> | undefined;
  /** Sessions open or opening: the environment stops when none is left. */
  #activeSessions = 0;
  #listenerCalls = 0;
  #closed = false;

  constructor(options: LenraAppBackendOptions) {
    this.#app = options.app;
    this.#manifest = options.manifest;
    this.#store = options.store;
    this.#verify = options.verifyAccessToken;
    this.#insecureTestTokens = options.insecureTestTokens === true;
    this.#log = createLog(options.logger);
    this.#renderer = new ViewRenderer({
      app: options.app,
      store: options.store,
      maxDepth: options.maxViewDepth,
      notice: (key, message) => this.notice(key, message),
    });
    this.#unsubscribe = this.#store.onChange(({ collections }) => this.#dataChanged(collections));
  }

  /**
   * Sets the base URL the app's listeners call the data API at; sessions are refused until it
   * is set. Nothing runs yet: `onEnvStart` runs when the first session opens.
   */
  start(apiUrl: string): Promise<void> {
    this.#apiUrl = apiUrl.replace(/\/+$/, "");
    return Promise.resolve();
  }

  /** What a data API bearer token stands for: a listener call's user, or the environment. */
  resolveDataApiToken(token: string): DataApiTokenInfo | undefined {
    return this.#tokens.get(token);
  }

  /**
   * A guest must name the app (`app`), as on Lenra; with a token the dev OAuth client stands
   * for the one app served, as a Lenra client registered for an app does. Any app name is this
   * app: the dev server serves one and keeps no list of names.
   */
  async authenticate(request: ConnectRequest): Promise<SessionIdentity | ConnectionRefusal> {
    const param = request.params.token;
    const token = typeof param === "string" && param !== "" ? param : request.authToken;
    if (token === undefined || token === "") {
      const app = request.params.app;
      if (typeof app !== "string" || app === "") {
        this.notice(
          "no-app",
          'A guest connected without the "app" socket parameter: Lenra refuses such a socket (HTTP 403), and so does the dev server. Give the client your app\'s name (createLenraClient({ appName })).',
        );
        return refuseConnection("no_app_found");
      }
      return { roles: ["guest"] };
    }
    if (this.#insecureTestTokens && token.startsWith(TEST_TOKEN_PREFIX)) {
      const userId = token.slice(TEST_TOKEN_PREFIX.length);
      if (userId !== "") return { userId, roles: ["user"] };
    }
    let verified: { userId: string } | undefined;
    try {
      verified = await this.#verify?.(token);
    } catch (error) {
      this.#log.error("verifying an access token failed", { error: describeError(error) });
    }
    if (!verified) return refuseConnection(ErrorReason.InvalidToken);
    return { userId: verified.userId, roles: ["user"] };
  }

  /**
   * Starts a session as Lenra's session supervisor does: the environment first (`onEnvStart`
   * when it is not running), then `onUserFirstJoin` for a user never seen, then
   * `onSessionStart`. A failure refuses the socket (HTTP 403), except an `onSessionStart`
   * the app answers with 404.
   */
  async openSession(info: SessionInfo): Promise<BackendSession> {
    if (this.#closed) throw new LenraBackendError("closing", "The dev server is stopping.");
    if (this.#apiUrl === undefined) throw new Error("start() must be called before sessions open.");
    this.#activeSessions++;
    try {
      this.#environment ??= this.#startEnvironment();
      await this.#environment;
      const session = new AppSession(this, info);
      const { userId } = info.identity;
      if (userId !== undefined) await this.#firstJoin(userId);
      await this.#systemListener(SystemListener.SessionStart, userId);
      if (this.#closed) throw new LenraBackendError("closing", "The dev server is stopping.");
      this.#sessions.add(session);
      return session;
    } catch (error) {
      // Lenra stops the environment when a session that started ends, not when one fails to.
      this.#activeSessions--;
      throw error;
    }
  }

  /** Stops listening to the data. Close the sessions first. Lenra calls no listener here. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe();
  }

  stats(): LenraAppBackendStats {
    let openRoutes = 0;
    for (const session of this.#sessions) openRoutes += session.openRoutes.size;
    const renderer = this.#renderer.stats();
    return {
      sessions: this.#sessions.size,
      openRoutes,
      renderGroups: this.#groups.size,
      viewRenders: renderer.appRenders,
      sharedRenders: renderer.shared,
      cachedViews: renderer.cached,
      listenerCalls: this.#listenerCalls,
    };
  }

  // Used by sessions and routes.

  get renderer(): ViewRenderer {
    return this.#renderer;
  }

  get manifest(): Manifest {
    return this.#manifest;
  }

  get log(): Log {
    return this.#log;
  }

  /** Logs a warning once per `key`: something an app does that Lenra treats in a surprising way. */
  notice(key: string, message: string): void {
    if (this.#noticed.has(key)) return;
    this.#noticed.add(key);
    this.#log.warn(message);
  }

  /**
   * Calls a listener of the app with a data API token made for this call and revoked once it
   * answered, as Lenra's event handler does; rejects with `AppRequestError`.
   */
  async callListener(
    name: string,
    props: JsonObject | undefined,
    event: unknown,
    userId: string | undefined,
  ): Promise<void> {
    this.#listenerCalls++;
    const token = `lda_${randomBytes(24).toString("base64url")}`;
    this.#tokens.set(token, { userId });
    try {
      await this.#app.listener({
        listener: name,
        props: props ?? {},
        event,
        api: { url: this.#apiUrl as string, token },
      });
    } finally {
      this.#tokens.delete(token);
    }
  }

  /**
   * The render group of a route for a session: sessions with the same path, user, roles and
   * client context see the same document, so they share one.
   */
  groupFor(
    route: ManifestRoute,
    path: string,
    pathParams: Readonly<Record<string, RouteParam>>,
    info: SessionInfo,
  ): RouteGroup {
    const { identity, context } = info;
    const key = canonicalJson([path, identity.userId ?? null, identity.roles, context]);
    let group = this.#groups.get(key);
    if (!group) {
      const scope = createRenderScope(identity.userId, identity.roles, pathParams, context);
      group = new RouteGroup(key, this, route, path, scope);
      this.#groups.set(key, group);
    }
    return group;
  }

  forgetGroup(group: RouteGroup): void {
    if (this.#groups.get(group.key) === group) this.#groups.delete(group.key);
  }

  /** A session ended: when it was the last one, the environment stops, as on Lenra. */
  endSession(session: AppSession): void {
    if (!this.#sessions.delete(session)) return;
    this.#activeSessions--;
    if (this.#activeSessions > 0 || this.#environment === undefined) return;
    this.#environment = undefined;
    this.#log.debug("no session left: the environment stopped; onEnvStart runs for the next one");
  }

  async #startEnvironment(): Promise<void> {
    try {
      await this.#systemListener(SystemListener.EnvStart, undefined);
    } catch (error) {
      // The next session starts the environment again, as Lenra retries a failed start.
      this.#environment = undefined;
      throw error;
    }
  }

  /**
   * `onUserFirstJoin` for a user never seen (users are remembered in the data file). As on
   * Lenra the user is recorded before the call, so a failure refuses this connection only and
   * the listener is never called again for that user.
   */
  async #firstJoin(userId: string): Promise<void> {
    const known = this.#store.getPlatformValue(KNOWN_USERS_KEY);
    const users = Array.isArray(known) ? known.filter((item) => typeof item === "string") : [];
    if (users.includes(userId)) return;
    this.#store.setPlatformValue(KNOWN_USERS_KEY, [...users, userId]);
    await this.#systemListener(SystemListener.UserFirstJoin, userId);
  }

  /**
   * Runs a system listener; throws the Lenra error that refuses the socket when it fails,
   * after one log line saying what Lenra would do and what to change.
   */
  async #systemListener(name: SystemListener, userId: string | undefined): Promise<void> {
    try {
      await this.callListener(name, {}, {}, userId);
      this.#log.debug("system listener ran", { listener: name });
    } catch (error) {
      const failure = appFailure(error);
      // Lenra tolerates a missing onSessionStart only when the app answers 404 (never
      // @lenra/app, which answers 500 for a listener it lacks).
      if (name === SystemListener.SessionStart && failure.reason === ErrorReason.AppNotFound) {
        this.#log.debug("the app answered 404 for onSessionStart: skipped, as on Lenra");
        return;
      }
      const missing = error instanceof AppRequestError && NO_LISTENER.test(error.message);
      this.#log.error(
        missing
          ? `The app has no ${name} listener: @lenra/app answers 500 for it, and Lenra then refuses ${REFUSED[name]}. So does the dev server. Export an ${name} function from one of the app's listener files (an empty one will do).`
          : `The app's ${name} listener failed: ${failureText(failure)}. Lenra then refuses ${REFUSED[name]}, and so does the dev server.`,
      );
      throw failure;
    }
  }

  #dataChanged(collections: ReadonlySet<string>): void {
    this.#renderer.dataChanged(collections);
    for (const group of this.#groups.values()) {
      if (group.dependsOn(collections)) group.schedule();
    }
  }
}

/** The app's own words in a Lenra error (its `metadata`), else the error's message. */
function failureText(failure: LenraBackendError): string {
  return typeof failure.metadata === "string" && failure.metadata.trim() !== ""
    ? failure.metadata.trim()
    : failure.message;
}

/** One socket's session. */
class AppSession implements BackendSession {
  readonly #backend: LenraAppBackend;
  readonly info: SessionInfo;
  /** The routes this session has open, as members of their render groups. */
  readonly openRoutes = new Set<RouteMember>();
  /** Every code this session was sent, for its lifetime: a `run` accepts only these. */
  readonly #codes = new Map<string, ListenerTarget>();
  /** The last listener call: Lenra's event handler runs one at a time per session. */
  #calls: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(backend: LenraAppBackend, info: SessionInfo) {
    this.#backend = backend;
    this.info = info;
  }

  routes(): JsonRoute[] {
    return this.#backend.manifest
      .visibleTo(this.info.identity.roles)
      .map((route) => route.declared);
  }

  lenraRoutes(): JsonValue[] {
    return this.#backend.manifest
      .lenraRoutesVisibleTo(this.info.identity.roles)
      .map((route) => route.declared);
  }

  /** Joins a route; a view that fails on its first render refuses the join, as on Lenra. */
  async openRoute(path: string, sink: RouteSink): Promise<RouteHandle> {
    const match = this.#backend.manifest.match(path, this.info.identity.roles);
    if (!match || this.#closed) throw new RouteNotFoundError(path);
    const group = this.#backend.groupFor(match.route, path, match.pathParams, this.info);
    const member: RouteMember = { session: this, sink, group, awaitingFirst: undefined };
    this.openRoutes.add(member);
    const first = await group.join(member);
    if (!first?.ok) {
      this.openRoutes.delete(member);
      group.leave(member);
      if (!first) throw new RouteNotFoundError(path);
      throw appFailure(first.error);
    }
    return {
      initial: first.document,
      close: () => {
        this.openRoutes.delete(member);
        group.leave(member);
      },
    };
  }

  /** Remembers the codes a render sent to this session. */
  learn(listeners: ReadonlyMap<string, ListenerTarget>): void {
    for (const [code, target] of listeners) {
      if (!this.#codes.has(code)) this.#codes.set(code, target);
    }
  }

  async run(code: string, event: unknown, _meta: RunMeta): Promise<void> {
    const target = this.#codes.get(code);
    if (!target) throw new UnknownListenerError(code);
    const log = this.#backend.log;
    if (target.name.startsWith("@lenra:")) {
      // Lenra runs these itself (navTo moves a Lenra-mode client); the app never sees them.
      log.info(`"${target.name}" is a Lenra-mode action: the dev server does not perform it.`);
      return;
    }
    // A run without an event gets `{}`, as Lenra's channel gives it.
    const given = event === undefined ? {} : event;
    const call = this.#calls.then(() =>
      this.#backend.callListener(target.name, target.props, given, this.info.identity.userId),
    );
    this.#calls = call.catch(() => {});
    let failure: LenraBackendError | undefined;
    try {
      await call;
    } catch (error) {
      failure = appFailure(error);
      log.warn(`The listener "${target.name}" failed: ${failureText(failure)}`);
    }
    // Even a failed listener may have changed data. The changes it made were announced before
    // the app answered, so this session's routes are already scheduled: the client gets the new
    // view before the reply (Lenra's order is not fixed: its change stream is asynchronous).
    await Promise.all([...this.openRoutes].map((member) => member.group.settled()));
    if (failure) throw failure;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const member of this.openRoutes) member.group.leave(member);
    this.openRoutes.clear();
    this.#backend.endSession(this);
  }
}

/** One session's channel on a route, fed by the route's render group. */
interface RouteMember {
  readonly session: AppSession;
  readonly sink: RouteSink;
  readonly group: RouteGroup;
  /** Set until the member got its first render's outcome (`undefined` when it left first). */
  awaitingFirst: ((outcome: RenderOutcome | undefined) => void) | undefined;
}

type RenderOutcome =
  | { ok: true; document: JsonValue; listeners: ReadonlyMap<string, ListenerTarget> }
  | { ok: false; error: ViewRenderError };

/**
 * The sessions showing one route with identical inputs (path, user, roles, client context):
 * they see the same document, so it is rendered once for all of them. Renders never overlap,
 * and requests made while one runs fold into a single next render, so results reach clients
 * in order and the last one reflects the latest data however slow the app is.
 */
class RouteGroup {
  readonly key: string;
  readonly #backend: LenraAppBackend;
  readonly #route: ManifestRoute;
  readonly #path: string;
  readonly #scope: RenderScope;
  readonly members = new Set<RouteMember>();
  #lease = new RenderLease();
  /** Collections the last render read; `undefined` after a failure (any change retries). */
  #dependencies: ReadonlySet<string> | undefined;
  #last: RenderOutcome | undefined;
  #requested = 0;
  #delivered = 0;
  #dirty = false;
  #running = false;
  #closed = false;
  #waiters: { upTo: number; resolve: () => void }[] = [];
  #lastFanOutMs = 0;
  #lastFanOutEnd = 0;

  constructor(
    key: string,
    backend: LenraAppBackend,
    route: ManifestRoute,
    path: string,
    scope: RenderScope,
  ) {
    this.key = key;
    this.#backend = backend;
    this.#route = route;
    this.#path = path;
    this.#scope = scope;
  }

  /**
   * Adds a member; resolves with the outcome of its first render, `undefined` when it left
   * before. A failed outcome leaves the member in the group: the caller removes it.
   */
  join(member: RouteMember): Promise<RenderOutcome | undefined> {
    this.members.add(member);
    const last = this.#last;
    if (last?.ok && !this.#dirty) {
      // The group's current document is as fresh as the data: no render needed. A render in
      // flight will reach this member as an update.
      member.session.learn(last.listeners);
      return Promise.resolve(last);
    }
    const first = new Promise<RenderOutcome | undefined>((resolve) => {
      member.awaitingFirst = resolve;
    });
    // Unless a render is already coming, render now; a failed last render is retried for the
    // newcomer, as a fresh join would be on Lenra.
    if (!this.#dirty) this.schedule();
    return first;
  }

  leave(member: RouteMember): void {
    if (!this.members.delete(member)) return;
    member.awaitingFirst?.(undefined);
    member.awaitingFirst = undefined;
    if (this.members.size === 0) this.#close();
  }

  dependsOn(collections: ReadonlySet<string>): boolean {
    const dependencies = this.#dependencies;
    if (dependencies === undefined) return true;
    for (const coll of collections) if (dependencies.has(coll)) return true;
    return false;
  }

  /** Asks for a render that reads the data as it is now. */
  schedule(): void {
    if (this.#closed) return;
    this.#requested++;
    this.#dirty = true;
    if (this.#running) return;
    this.#running = true;
    this.#loop().catch((error: unknown) =>
      this.#backend.log.error("a route render crashed", {
        route: this.#path,
        error: describeError(error),
      }),
    );
  }

  /** Resolves once every render requested so far was delivered (or the group closed). */
  settled(): Promise<void> {
    const upTo = this.#requested;
    if (this.#delivered >= upTo || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ upTo, resolve }));
  }

  #close(): void {
    this.#closed = true;
    this.#backend.renderer.release(this.#lease);
    this.#backend.forgetGroup(this);
    this.#wake(Number.POSITIVE_INFINITY);
  }

  async #loop(): Promise<void> {
    try {
      while (this.#dirty && !this.#closed) {
        // A big group's fan-out costs real time (a socket write per member): the group rests as
        // long as its last fan-out took before rendering again, so under a stream of changes
        // at most half the time goes to fan-outs and the changes meanwhile fold into one render.
        const rest = this.#lastFanOutMs - (performance.now() - this.#lastFanOutEnd);
        if (rest > 1) await new Promise((resolve) => setTimeout(resolve, rest));
        // Each render waits for the end of the event loop's I/O phase: changes that arrived
        // together fold into one render, and the data API request that announced a change is
        // answered first.
        await nextTurn();
        if (this.#closed) return;
        this.#dirty = false;
        const upTo = this.#requested;
        const outcome = await this.#render();
        if (this.#closed) return;
        const fanOutStart = performance.now();
        this.#deliver(outcome);
        this.#lastFanOutEnd = performance.now();
        this.#lastFanOutMs = this.#lastFanOutEnd - fanOutStart;
        this.#delivered = upTo;
        this.#wake(upTo);
      }
    } finally {
      // Reset with no await before returning, so a schedule() racing the end of the loop starts
      // a new loop instead of joining one that will not render again.
      this.#running = false;
    }
  }

  async #render(): Promise<RenderOutcome> {
    const renderer = this.#backend.renderer;
    const lease = new RenderLease();
    const read = new Set<string>();
    let outcome: RenderOutcome;
    try {
      const tree = await renderer.render(this.#route.view, this.#scope, lease, read);
      if (!isPlainObject(tree.document)) {
        throw new ViewRenderError(
          `The view "${this.#route.view.name}" of route ${this.#route.path} must return a JSON object, not ${describeJson(tree.document)}.`,
          { view: this.#route.view.name },
        );
      }
      this.#dependencies = tree.collections;
      outcome = { ok: true, document: tree.document, listeners: tree.listeners };
    } catch (error) {
      this.#dependencies = undefined;
      outcome = {
        ok: false,
        error:
          error instanceof ViewRenderError
            ? error
            : new ViewRenderError(describeError(error), { cause: error }),
      };
    }
    // The views just used stay cached for as long as this group shows them.
    renderer.release(this.#lease);
    this.#lease = lease;
    if (this.#closed) renderer.release(lease);
    return outcome;
  }

  #deliver(outcome: RenderOutcome): void {
    this.#last = outcome;
    let errorPayload: LenraErrorPayload | undefined;
    if (!outcome.ok) {
      const failure = appFailure(outcome.error);
      this.#backend.log.warn(`The view of route ${this.#path} failed: ${failureText(failure)}`);
      // After a data change Lenra pushes the error and keeps the last document it sent.
      errorPayload = failure.toEventPayload();
    }
    for (const member of this.members) {
      if (outcome.ok) member.session.learn(outcome.listeners);
      const first = member.awaitingFirst;
      if (first) {
        // A first render that failed refuses the member's join instead.
        member.awaitingFirst = undefined;
        first(outcome);
      } else if (outcome.ok) {
        member.sink.update(outcome.document);
      } else if (errorPayload) {
        member.sink.error(errorPayload);
      }
    }
  }

  #wake(delivered: number): void {
    if (this.#waiters.length === 0) return;
    const waiting = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiting) {
      if (waiter.upTo <= delivered) waiter.resolve();
      else this.#waiters.push(waiter);
    }
  }
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function describeJson(value: JsonValue): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}
