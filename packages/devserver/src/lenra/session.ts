import { ListenerCodes } from "../app/listeners.ts";
import type { JsonValue } from "../shared/json.ts";
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
  failureText,
  type LenraBackendError,
  RouteNotFoundError,
  UnknownListenerError,
} from "./errors.ts";
import type { LenraPlatform } from "./platform.ts";
import type { RouteMember } from "./route-group.ts";

/**
 * One socket's session, as Lenra's session server keeps it: the routes its roles may see, the
 * routes it has open (each a member of a render group), the listener codes it was sent, and
 * its listener calls, run one at a time.
 */
export class AppSession implements BackendSession {
  readonly #platform: LenraPlatform;
  readonly info: SessionInfo;
  /** The routes this session has open, as members of their render groups. */
  readonly openRoutes = new Set<RouteMember>();
  /** Every code this session was sent: a `run` accepts only these. */
  readonly codes = new ListenerCodes();
  /** The last listener call: Lenra's event handler runs one at a time per session. */
  #calls: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(platform: LenraPlatform, info: SessionInfo) {
    this.#platform = platform;
    this.info = info;
  }

  routes(): JsonRoute[] {
    return this.#platform.app.routes(this.info.identity.roles);
  }

  lenraRoutes(): JsonValue[] {
    return this.#platform.app.lenraRoutes(this.info.identity.roles);
  }

  /** Joins a route; a view that fails on its first render refuses the join, as on Lenra. */
  async openRoute(path: string, sink: RouteSink): Promise<RouteHandle> {
    const group = this.#closed ? undefined : this.#platform.groupFor(path, this.info);
    if (!group) throw new RouteNotFoundError(path);
    const member: RouteMember = { session: this, sink, group, awaitingFirst: undefined };
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
      const failure = appFailure(first.error);
      if (!this.#platform.lenient) {
        leave();
        throw failure;
      }
      // The test app's way: the join succeeds, the error comes first, the whole `ui` once a
      // render succeeds.
      sink.error(failure.toEventPayload());
      return { initial: undefined, close: leave };
    }
    return { initial: first.document, close: leave };
  }

  async run(code: string, event: unknown, meta: RunMeta): Promise<void> {
    const target = this.codes.resolve(code);
    if (!target) throw new UnknownListenerError(this.#platform.lenient ? undefined : code);
    const log = this.#platform.log;
    if (target.name.startsWith("@lenra:")) {
      // Lenra runs these itself (navTo moves a Lenra-mode client); the app never sees them.
      log.info(`"${target.name}" is a Lenra-mode action: the dev server does not perform it.`);
      return;
    }
    const call = this.#calls.then(() =>
      this.#platform.callListener({
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
    await Promise.all([...this.openRoutes].map((member) => member.group.settled()));
    if (failure) throw failure;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const member of this.openRoutes) member.group.leave(member);
    this.openRoutes.clear();
    this.#platform.endSession(this);
  }
}
