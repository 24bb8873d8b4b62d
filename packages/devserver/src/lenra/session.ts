import type { ListenerTarget } from "../app/listeners.ts";
import type { JsonValue } from "../shared/json.ts";
import { describeError, type Log } from "../shared/log.ts";
import type {
  BackendSession,
  JsonRoute,
  RouteHandle,
  RouteSink,
  RunMeta,
  SessionInfo,
} from "./backend.ts";
import {
  appFailure,
  DataNotSavedError,
  failureText,
  type LenraBackendError,
  RouteNotFoundError,
  UnknownListenerError,
} from "./errors.ts";
import type { RouteGroup, RouteMember } from "./route-group.ts";
import type { AppListenerCall, ServedApp } from "./served-app.ts";

/** What a session needs from its platform. */
export interface SessionHost {
  readonly app: ServedApp;
  readonly log: Log;
  /** The render group of `path` for a session; `undefined` when it may see no such route. */
  groupFor(path: string, info: SessionInfo): RouteGroup | undefined;
  callListener(call: AppListenerCall): Promise<void>;
  /** Resolves once every change made so far is on disk; rejects when it cannot be written. */
  saved(): Promise<void>;
  /** The session closed. */
  endSession(session: AppSession): void;
}

/**
 * One socket's session, as Lenra's session server keeps it: the routes its roles may see, the
 * routes it has open (each a member of a render group), and its listener calls, run one at a
 * time. A `run` is accepted only for a code of a document its routes show (the last one each
 * was sent, or the one before), so what a session keeps for its codes is bounded by what it
 * shows, and a code resolves only in a session that was sent it.
 */
export class AppSession implements BackendSession {
  readonly #host: SessionHost;
  readonly info: SessionInfo;
  /** The routes this session has open, as members of their render groups. */
  readonly openRoutes = new Set<RouteMember>();
  /** The last listener call: Lenra's event handler runs one at a time per session. */
  #calls: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(host: SessionHost, info: SessionInfo) {
    this.#host = host;
    this.info = info;
  }

  routes(): JsonRoute[] {
    return this.#host.app.routes(this.info.identity.roles);
  }

  lenraRoutes(): JsonValue[] {
    return this.#host.app.lenraRoutes(this.info.identity.roles);
  }

  /** Joins a route; a view that fails on its first render refuses the join, as on Lenra. */
  async openRoute(path: string, sink: RouteSink): Promise<RouteHandle> {
    const group = this.#closed ? undefined : this.#host.groupFor(path, this.info);
    if (!group) throw new RouteNotFoundError(path);
    const member: RouteMember = {
      sink,
      group,
      shown: { current: undefined, previous: undefined },
      awaitingFirst: undefined,
    };
    this.openRoutes.add(member);
    const leave = () => {
      this.openRoutes.delete(member);
      group.leave(member);
    };
    const first = await group.join(member);
    if (!first) {
      leave();
      throw new RouteNotFoundError(path);
    }
    if (!first.ok) {
      leave();
      throw appFailure(first.error);
    }
    return { initial: first.tree.document, close: leave };
  }

  /** The codes this session accepts: those of what its routes show. */
  codes(): Set<string> {
    const codes = new Set<string>();
    for (const { shown } of this.openRoutes) {
      for (const tree of [shown.current, shown.previous]) {
        for (const code of tree?.listeners().keys() ?? []) codes.add(code);
      }
    }
    return codes;
  }

  /** The listener behind `code` in what this session's routes show. */
  listener(code: string): ListenerTarget | undefined {
    for (const { shown } of this.openRoutes) {
      const target = shown.current?.listeners().get(code) ?? shown.previous?.listeners().get(code);
      if (target) return target;
    }
    return undefined;
  }

  async run(code: string, event: unknown, meta: RunMeta): Promise<void> {
    const target = this.listener(code);
    if (!target) throw new UnknownListenerError(code);
    const log = this.#host.log;
    if (target.name.startsWith("@lenra:")) {
      // Lenra runs these itself (navTo moves a Lenra-mode client); the app never sees them.
      log.info(`"${target.name}" is a Lenra-mode action: the dev server does not perform it.`);
      return;
    }
    const call = this.#calls.then(() =>
      this.#host.callListener({
        name: target.name,
        props: target.props,
        event,
        userId: this.info.identity.userId,
        from: { session: this.info, route: meta.route },
      }),
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
    // With a data file, the reply also waits for the changes to be on disk: a call answered ok
    // is never lost, not even by kill -9.
    const [, saving] = await Promise.allSettled([
      Promise.all([...this.openRoutes].map((member) => member.group.settled())),
      this.#host.saved(),
    ]);
    if (saving.status === "rejected") {
      log.error(`The data file could not be written after "${target.name}" ran`, {
        error: describeError(saving.reason),
      });
    }
    if (failure) throw failure;
    if (saving.status === "rejected") throw new DataNotSavedError(saving.reason);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const member of this.openRoutes) member.group.leave(member);
    this.openRoutes.clear();
    this.#host.endSession(this);
  }
}
