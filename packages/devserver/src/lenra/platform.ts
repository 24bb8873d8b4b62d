import { AppRequestError } from "../app/client.ts";
import type { DataStore } from "../data/store.ts";
import { refuseConnection } from "../protocol/connect.ts";
import { canonicalJson } from "../shared/json.ts";
import {
  createLog,
  createNotice,
  type DevServerLogger,
  describeError,
  type Log,
} from "../shared/log.ts";
import type {
  BackendSession,
  ConnectionRefusal,
  ConnectRequest,
  LenraBackend,
  SessionIdentity,
  SessionInfo,
} from "./backend.ts";
import { appFailure, ErrorReason, failureText, LenraBackendError } from "./errors.ts";
import { RouteGroup } from "./route-group.ts";
import type { AppListenerCall, ServedApp } from "./served-app.ts";
import { AppSession, type SessionHost } from "./session.ts";

/**
 * The system listeners Lenra's server calls. `@lenra/app` also names `onSessionStop`,
 * `onUserLeave` and `onEnvStop`, which Lenra never calls, and neither does the dev server.
 *
 * @see PROTOCOL.md §5
 */
const SystemListener = {
  EnvStart: "onEnvStart",
  UserFirstJoin: "onUserFirstJoin",
  SessionStart: "onSessionStart",
} as const;

type SystemListener = (typeof SystemListener)[keyof typeof SystemListener];

/** Tells who an access token belongs to; `undefined` refuses it. */
export type VerifyAccessToken = (
  token: string,
) => Promise<{ userId: string } | undefined> | { userId: string } | undefined;

const TEST_TOKEN_PREFIX = "user:";

/**
 * The socket token the platform's `insecureTestTokens` (and the test app) read as the user
 * `userId`, with no check at all: anyone can forge it. For tests only; real logins go through
 * the OAuth server.
 *
 * @example
 * ```ts
 * new Socket(server.socketUrl, { params: { token: insecureTestToken("alice") } }); // alice
 * ```
 */
export function insecureTestToken(userId: string): string {
  return `${TEST_TOKEN_PREFIX}${userId}`;
}

/** The token a socket presents: its `token` param, else the Phoenix `authToken`. */
export function socketToken(request: ConnectRequest): string | undefined {
  const param = request.params.token;
  const token = typeof param === "string" && param !== "" ? param : request.authToken;
  return token === "" ? undefined : token;
}

export interface PlatformOptions {
  /** The app served. */
  app: ServedApp;
  /**
   * Where the platform keeps what it remembers (the users who already joined), and what tells
   * when the data is on disk: a listener's reply waits for its writes to be saved.
   */
  store: Pick<DataStore, "getPlatformValue" | "setPlatformValue" | "flush">;
  /** Checks a socket's `token`; without it every token is refused and only guests connect. */
  verifyAccessToken?: VerifyAccessToken | undefined;
  /**
   * TEST ONLY: also accepts `token=user:<id>` (see {@link insecureTestToken}) as that user,
   * without any check. Anyone can forge such a token. Defaults to `false`.
   */
  insecureTestTokens?: boolean | undefined;
  logger?: DevServerLogger | undefined;
}

/** Counters of a running platform. */
export interface PlatformStats {
  sessions: number;
  openRoutes: number;
  /** Open routes per path. */
  routes: Record<string, number>;
  /** Groups of open routes rendered together (same path, user, roles and client context). */
  renderGroups: number;
  /** Listeners the app was asked to run, system listeners included. */
  listenerCalls: number;
  /** Listener codes the sessions hold, over all sessions: what their routes show. */
  listenerCodes: number;
}

const KNOWN_USERS_KEY = "knownUsers";
const NO_LISTENER = /^No listener found for /;

/** What Lenra refuses when a system listener fails, for the log line that says so. */
const REFUSED: Record<SystemListener, string> = {
  onEnvStart: "every connection (the environment cannot start)",
  onUserFirstJoin:
    "this user's first connection (the user is recorded first, so it is not called again)",
  onSessionStart: "every connection",
};

/**
 * The Lenra platform in front of an app, as Lenra's server behaves: who connects, the sessions
 * (one per socket), the routes each may see, renders shared by the sessions that show the same
 * thing, listeners run one at a time per session, the system listeners Lenra calls, and live
 * updates after every change the app reports. The environment starts (`onEnvStart`) with the
 * first session and stops when the last one ends, as on Lenra.
 *
 * @see PROTOCOL.md §3–5
 */
export class LenraPlatform implements LenraBackend, SessionHost {
  readonly app: ServedApp;
  readonly log: Log;
  readonly #store: PlatformOptions["store"];
  readonly #verify: VerifyAccessToken | undefined;
  readonly #insecureTestTokens: boolean;
  readonly #notice: (key: string, message: string) => void;
  readonly #sessions = new Set<AppSession>();
  readonly #groups = new Map<string, RouteGroup>();
  readonly #unsubscribe: () => void;
  /** The environment's start (`onEnvStart`), while sessions are open or opening. */
  #environment: Promise<void> | undefined;
  /** Sessions open or opening: the environment stops when none is left. */
  #activeSessions = 0;
  #listenerCalls = 0;
  #closed = false;

  constructor(options: PlatformOptions) {
    this.app = options.app;
    this.#store = options.store;
    this.#verify = options.verifyAccessToken;
    this.#insecureTestTokens = options.insecureTestTokens === true;
    this.log = createLog(options.logger);
    this.#notice = createNotice(this.log);
    this.#unsubscribe = this.app.onChange(() => {
      for (const group of this.#groups.values()) {
        if (group.outdated()) group.schedule();
      }
    });
  }

  /**
   * A guest must name the app (`app`), as on Lenra; with a token the dev OAuth client stands
   * for the one app served, as a Lenra client registered for an app does. Any app name is this
   * app: the dev server serves one and keeps no list of names.
   */
  async authenticate(request: ConnectRequest): Promise<SessionIdentity | ConnectionRefusal> {
    const token = socketToken(request);
    if (token === undefined) {
      const app = request.params.app;
      if (typeof app !== "string" || app === "") {
        this.#notice(
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
      this.log.error("verifying an access token failed", { error: describeError(error) });
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

  /** Resolves once every render asked for so far reached the sessions that show it. */
  async settled(): Promise<void> {
    await Promise.all([...this.#groups.values()].map((group) => group.settled()));
  }

  /** Stops listening to the app's changes. Close the sessions first. Lenra calls no listener here. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe();
  }

  stats(): PlatformStats {
    let openRoutes = 0;
    let listenerCodes = 0;
    const routes: Record<string, number> = {};
    for (const session of this.#sessions) {
      listenerCodes += session.codes().size;
      for (const member of session.openRoutes) {
        openRoutes++;
        routes[member.group.path] = (routes[member.group.path] ?? 0) + 1;
      }
    }
    return {
      sessions: this.#sessions.size,
      openRoutes,
      routes,
      renderGroups: this.#groups.size,
      listenerCalls: this.#listenerCalls,
      listenerCodes,
    };
  }

  // Used by sessions and render groups.

  /** Resolves once every change made so far is on disk (at once without a data file). */
  saved(): Promise<void> {
    return this.#store.flush();
  }

  /** Runs a listener of the app, counted. */
  callListener(call: AppListenerCall): Promise<void> {
    this.#listenerCalls++;
    return this.app.callListener(call);
  }

  /**
   * The render group of `path` for a session, `undefined` when no route it may see matches:
   * sessions with the same path, user, roles and client context see the same document, so
   * they share one.
   */
  groupFor(path: string, info: SessionInfo): RouteGroup | undefined {
    const { identity, context } = info;
    const key = canonicalJson([path, identity.userId ?? null, identity.roles, context]);
    let group = this.#groups.get(key);
    if (!group) {
      const view = this.app.openView(path, info);
      if (!view) return undefined;
      group = new RouteGroup(key, path, view, this.log, (closed) => this.#forgetGroup(closed));
      this.#groups.set(key, group);
    }
    return group;
  }

  /** A session ended: when it was the last one, the environment stops, as on Lenra. */
  endSession(session: AppSession): void {
    if (!this.#sessions.delete(session)) return;
    this.#activeSessions--;
    if (this.#activeSessions > 0 || this.#environment === undefined) return;
    this.#environment = undefined;
    this.log.debug("no session left: the environment stopped; onEnvStart runs for the next one");
  }

  #forgetGroup(group: RouteGroup): void {
    if (this.#groups.get(group.key) === group) this.#groups.delete(group.key);
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
      await this.callListener({ name, props: {}, event: {}, userId });
      this.log.debug("system listener ran", { listener: name });
    } catch (error) {
      const failure = appFailure(error);
      // Lenra tolerates a missing onSessionStart only when the app answers 404 (never
      // @lenra/app, which answers 500 for a listener it lacks).
      if (name === SystemListener.SessionStart && failure.reason === ErrorReason.AppNotFound) {
        this.log.debug("the app answered 404 for onSessionStart: skipped, as on Lenra");
        return;
      }
      const missing = error instanceof AppRequestError && NO_LISTENER.test(error.message);
      this.log.error(
        missing
          ? `The app has no ${name} listener: @lenra/app answers 500 for it, and Lenra then refuses ${REFUSED[name]}. So does the dev server. Export an ${name} function from one of the app's listener files (an empty one will do).`
          : `The app's ${name} listener failed: ${failureText(failure)}. Lenra then refuses ${REFUSED[name]}, and so does the dev server.`,
      );
      throw failure;
    }
  }
}
