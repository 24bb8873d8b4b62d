import { randomBytes } from "node:crypto";
import { type AppClient, AppRequestError } from "./app-client.ts";
import {
  type BackendSession,
  type ConnectionRefusal,
  type ConnectRequest,
  type JsonRoute,
  type LenraBackend,
  type RouteErrorPayload,
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
  ErrorReason,
  LenraBackendError,
  RouteNotFoundError,
  UnknownListenerError,
} from "./errors.ts";
import { canonicalJson, isPlainObject, type JsonObject, type JsonValue } from "./json.ts";
import type { ListenerTarget } from "./listener-codes.ts";
import { createLog, type DevServerLogger, describeError, type Log } from "./logger.ts";
import type { Manifest, ManifestRoute } from "./manifest.ts";
import { RenderLease, type RenderScope, ViewRenderError, ViewRenderer } from "./view-renderer.ts";

/** The system listeners the platform calls (PROTOCOL.md §5). */
export const SystemListener = {
  EnvStart: "onEnvStart",
  UserFirstJoin: "onUserFirstJoin",
  SessionStart: "onSessionStart",
  SessionStop: "onSessionStop",
  EnvStop: "onEnvStop",
} as const;

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

/**
 * The Lenra platform in front of a running `@lenra/app` app: JSON routes from its manifest,
 * views rendered from the data store and shared between sessions, listeners run with a data API
 * token per session, system listeners, and live updates after every data change.
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
  readonly #joining = new Map<string, Promise<void>>();
  readonly #background = new Set<Promise<unknown>>();
  readonly #unsubscribe: () => void;
  #apiUrl: string | undefined;
  #ready: Promise<void> | undefined;
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
    });
    this.#unsubscribe = this.#store.onChange(({ collections }) => this.#dataChanged(collections));
  }

  /**
   * Runs `onEnvStart` with an environment token; sessions wait for it. Call it once the data
   * API answers at `apiUrl`, the base URL the app's listeners call.
   */
  start(apiUrl: string): Promise<void> {
    this.#apiUrl = apiUrl.replace(/\/+$/, "");
    this.#ready ??= this.#callSystemListener(SystemListener.EnvStart, {}).then(() => {});
    return this.#ready;
  }

  /** What a data API bearer token stands for: a session's user, or the environment. */
  resolveDataApiToken(token: string): DataApiTokenInfo | undefined {
    return this.#tokens.get(token);
  }

  async authenticate(request: ConnectRequest): Promise<SessionIdentity | ConnectionRefusal> {
    const param = request.params.token;
    const token = typeof param === "string" && param !== "" ? param : request.authToken;
    if (token === undefined || token === "") return { roles: ["guest"] };
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

  async openSession(info: SessionInfo): Promise<BackendSession> {
    if (this.#closed) throw new LenraBackendError("closing", "The dev server is stopping.");
    await this.#ready;
    const token = this.#issueToken({ userId: info.identity.userId });
    const session = new AppSession(this, info, token);
    this.#sessions.add(session);
    const { userId } = info.identity;
    if (userId !== undefined) await this.#firstJoin(userId, token);
    await this.#callSystemListener(SystemListener.SessionStart, {}, token);
    return session;
  }

  /**
   * Waits for the `onSessionStop` calls and renders still running, then runs `onEnvStop` once
   * the environment was started (each step at most `timeoutMs`), then stops listening to the
   * data. Close the sessions first, and keep the data API answering until this resolves: these
   * listeners use it.
   */
  async close(timeoutMs = 5_000): Promise<void> {
    this.#closed = true;
    await withTimeout(Promise.allSettled([...this.#background]), timeoutMs);
    const ready = this.#ready;
    if (ready) {
      const stop = ready.then(() => this.#callSystemListener(SystemListener.EnvStop, {}));
      await withTimeout(stop, timeoutMs);
    }
    this.#unsubscribe();
  }

  stats(): LenraAppBackendStats {
    let openRoutes = 0;
    for (const session of this.#sessions) openRoutes += session.openRoutes.size;
    const renderGroups = this.#groups.size;
    const renderer = this.#renderer.stats();
    return {
      sessions: this.#sessions.size,
      openRoutes,
      renderGroups,
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

  /** Calls a listener of the app; rejects with `AppRequestError`. */
  async callListener(
    name: string,
    props: JsonObject | undefined,
    event: unknown,
    token: string,
  ): Promise<void> {
    this.#listenerCalls++;
    const apiUrl = this.#apiUrl;
    if (apiUrl === undefined) throw new Error("start() must be called before listeners run.");
    await this.#app.listener({
      listener: name,
      props: props ?? {},
      event,
      api: { url: apiUrl, token },
    });
  }

  /**
   * The render group of a route for a session: sessions with the same path, user, roles and
   * client context see the same document, so they share one.
   */
  groupFor(
    route: ManifestRoute,
    path: string,
    pathParams: Readonly<Record<string, string>>,
    info: SessionInfo,
  ): RouteGroup {
    const { identity, context } = info;
    const key = canonicalJson([path, identity.userId ?? null, identity.roles, context]);
    let group = this.#groups.get(key);
    if (!group) {
      const scope: RenderScope = {
        userId: identity.userId,
        pathParams,
        // The platform's keys win over anything the client sends under the same names.
        context: {
          ...context,
          me: identity.userId ?? null,
          roles: [...identity.roles],
          pathParams: { ...pathParams },
        },
      };
      group = new RouteGroup(key, this, route, path, scope);
      this.#groups.set(key, group);
    }
    return group;
  }

  forgetGroup(group: RouteGroup): void {
    if (this.#groups.get(group.key) === group) this.#groups.delete(group.key);
  }

  /** Runs `work` in the background, where `close()` can wait for it. */
  track(work: Promise<unknown>): void {
    this.#background.add(work);
    work.finally(() => this.#background.delete(work)).catch(() => {});
  }

  /** Ends a session: its token outlives `onSessionStop`, which still needs it. */
  endSession(session: AppSession): void {
    this.#sessions.delete(session);
    this.track(
      this.#callSystemListener(SystemListener.SessionStop, {}, session.token).finally(() =>
        this.#tokens.delete(session.token),
      ),
    );
  }

  #issueToken(info: DataApiTokenInfo): string {
    const token = `lda_${randomBytes(24).toString("base64url")}`;
    this.#tokens.set(token, info);
    return token;
  }

  /**
   * `onUserFirstJoin` once per user ever (remembered in the data file), even when the user opens
   * several sessions at once. A failure is logged and retried at the user's next session.
   */
  #firstJoin(userId: string, token: string): Promise<void> {
    if (this.#knownUsers().includes(userId)) return Promise.resolve();
    let joining = this.#joining.get(userId);
    if (!joining) {
      joining = (async () => {
        const ok = await this.#callSystemListener(SystemListener.UserFirstJoin, {}, token);
        if (ok) this.#store.setPlatformValue(KNOWN_USERS_KEY, [...this.#knownUsers(), userId]);
      })().finally(() => this.#joining.delete(userId));
      this.#joining.set(userId, joining);
    }
    return joining;
  }

  #knownUsers(): string[] {
    const value = this.#store.getPlatformValue(KNOWN_USERS_KEY);
    return Array.isArray(value) ? value.filter((item) => typeof item === "string") : [];
  }

  /**
   * Calls a system listener; one the app does not define is skipped, as Lenra skips them.
   * Resolves `true` when it ran (or does not exist), `false` when it failed (logged).
   */
  async #callSystemListener(name: string, event: JsonObject, token?: string): Promise<boolean> {
    const envToken = token === undefined ? this.#issueToken({}) : undefined;
    try {
      await this.callListener(name, {}, event, token ?? (envToken as string));
      this.#log.debug("system listener ran", { listener: name });
      return true;
    } catch (error) {
      if (error instanceof AppRequestError && NO_LISTENER.test(error.message)) {
        this.#log.debug("the app has no such system listener", { listener: name });
        return true;
      }
      this.#log.error(`the app's ${name} listener failed`, { error: describeError(error) });
      return false;
    } finally {
      if (envToken !== undefined) this.#tokens.delete(envToken);
    }
  }

  #dataChanged(collections: ReadonlySet<string>): void {
    this.#renderer.dataChanged(collections);
    for (const group of this.#groups.values()) {
      if (group.dependsOn(collections)) group.schedule();
    }
  }
}

/** One socket's session. */
class AppSession implements BackendSession {
  readonly #backend: LenraAppBackend;
  readonly info: SessionInfo;
  readonly token: string;
  /** The routes this session has open, as members of their render groups. */
  readonly openRoutes = new Set<RouteMember>();
  /** Every code this session was sent, for its lifetime: a `run` accepts only these. */
  readonly #codes = new Map<string, ListenerTarget>();
  #closed = false;

  constructor(backend: LenraAppBackend, info: SessionInfo, token: string) {
    this.#backend = backend;
    this.info = info;
    this.token = token;
  }

  routes(): JsonRoute[] {
    return this.#backend.manifest
      .visibleTo(this.info.identity.roles)
      .map((route) => route.declared);
  }

  async openRoute(path: string, sink: RouteSink): Promise<RouteHandle> {
    const match = this.#backend.manifest.match(path, this.info.identity.roles);
    if (!match || this.#closed) throw new RouteNotFoundError(path);
    const group = this.#backend.groupFor(match.route, path, match.pathParams, this.info);
    const member: RouteMember = { session: this, sink, group, awaitingFirst: undefined };
    this.openRoutes.add(member);
    const initial = await group.join(member);
    return {
      initial,
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
    if (!target) throw new UnknownListenerError();
    let failure: unknown;
    try {
      // A run without an event gets `{}`, as Lenra's channel gives it.
      const given = event === undefined ? {} : event;
      await this.#backend.callListener(target.name, target.props, given, this.token);
    } catch (error) {
      failure = error;
    }
    // Even a failed listener may have changed data. The changes it made were announced before
    // the app answered, so this session's routes are already scheduled: the client gets the new
    // view before the reply, as on Lenra.
    await Promise.all([...this.openRoutes].map((member) => member.group.settled()));
    if (failure !== undefined) throw listenerError(target.name, failure);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const member of this.openRoutes) member.group.leave(member);
    this.openRoutes.clear();
    this.#backend.endSession(this);
  }
}

function listenerError(name: string, failure: unknown): LenraBackendError {
  if (failure instanceof AppRequestError && NO_LISTENER.test(failure.message)) {
    return new LenraBackendError(
      ErrorReason.ListenerNotFound,
      `The app has no listener named "${name}".`,
      { cause: failure },
    );
  }
  const message =
    failure instanceof Error && failure.message ? failure.message : "The listener failed.";
  return new LenraBackendError(ErrorReason.ListenerError, message, { cause: failure });
}

/** One session's channel on a route, fed by the route's render group. */
interface RouteMember {
  readonly session: AppSession;
  readonly sink: RouteSink;
  readonly group: RouteGroup;
  /** Set until the member got its first document (or learned that the render failed). */
  awaitingFirst: ((document: JsonValue | undefined) => void) | undefined;
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

  /** Adds a member; resolves with its first document, `undefined` when the render failed. */
  join(member: RouteMember): Promise<JsonValue | undefined> {
    this.members.add(member);
    const last = this.#last;
    if (last?.ok && !this.#dirty) {
      // The group's current document is as fresh as the data: no render needed. A render in
      // flight will reach this member as an update.
      member.session.learn(last.listeners);
      return Promise.resolve(last.document);
    }
    const first = new Promise<JsonValue | undefined>((resolve) => {
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
    let errorPayload: RouteErrorPayload | undefined;
    if (!outcome.ok) {
      this.#backend.log.warn("a view failed", { route: this.#path, error: outcome.error.message });
      errorPayload = {
        message: outcome.error.message,
        reason: ErrorReason.ViewError,
        metadata: {
          route: this.#path,
          ...(outcome.error.view === undefined ? {} : { view: outcome.error.view }),
        },
      };
    }
    for (const member of this.members) {
      if (outcome.ok) member.session.learn(outcome.listeners);
      const first = member.awaitingFirst;
      if (first) {
        member.awaitingFirst = undefined;
        first(outcome.ok ? outcome.document : undefined);
        if (errorPayload) member.sink.error(errorPayload);
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

/** Waits for `work`, or `ms` at most. */
async function withTimeout(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work,
    new Promise((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
