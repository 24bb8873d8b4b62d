import type { RenderedTree } from "../app/listeners.ts";
import { describeError, type Log } from "../shared/log.ts";
import type { RouteSink } from "./backend.ts";
import { equalJson } from "./diff.ts";
import { appFailure, failureText, type LenraErrorPayload } from "./errors.ts";
import type { RouteView } from "./served-app.ts";

/** One session's channel on a route, fed by the route's render group. */
export interface RouteMember {
  readonly sink: RouteSink;
  readonly group: RouteGroup;
  /**
   * The last document the member was sent and the one before: the client shows one of them
   * (the newest may still be on its way), so their listeners are the ones it may call.
   */
  shown: { current: RenderedTree | undefined; previous: RenderedTree | undefined };
  /** Set until the member got its first render's outcome (`undefined` when it left first). */
  awaitingFirst: ((outcome: RenderOutcome | undefined) => void) | undefined;
}

export type RenderOutcome = { ok: true; tree: RenderedTree } | { ok: false; error: unknown };

/**
 * The sessions showing one route with identical inputs (path, user, roles, client context):
 * they see the same document, so it is rendered once for all of them. Renders never overlap,
 * and requests made while one runs fold into a single next render, so results reach clients
 * in order and the last one reflects the latest data however slow the app is.
 */
export class RouteGroup {
  readonly key: string;
  readonly path: string;
  readonly #view: RouteView;
  readonly #log: Log;
  readonly #onClose: (group: RouteGroup) => void;
  readonly members = new Set<RouteMember>();
  #last: RenderOutcome | undefined;
  #requested = 0;
  #delivered = 0;
  #dirty = false;
  #running = false;
  #closed = false;
  #waiters: { upTo: number; resolve: () => void }[] = [];
  #lastFanOutMs = 0;
  #lastFanOutEnd = 0;

  /** `onClose` hears when the last member left: the group renders no more. */
  constructor(
    key: string,
    path: string,
    view: RouteView,
    log: Log,
    onClose: (group: RouteGroup) => void,
  ) {
    this.key = key;
    this.path = path;
    this.#view = view;
    this.#log = log;
    this.#onClose = onClose;
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
      show(member, last.tree);
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

  /** True when a data change may have changed what the group shows (any, after a failure). */
  outdated(): boolean {
    return this.#last?.ok === false || this.#view.outdated();
  }

  /** Asks for a render that reads the data as it is now. */
  schedule(): void {
    if (this.#closed) return;
    this.#requested++;
    this.#dirty = true;
    if (this.#running) return;
    this.#running = true;
    this.#loop().catch((error: unknown) =>
      this.#log.error("a route render crashed", {
        route: this.path,
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
    this.#view.close();
    this.#onClose(this);
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
    try {
      return { ok: true, tree: await this.#view.render() };
    } catch (error) {
      return { ok: false, error };
    }
  }

  #deliver(rendered: RenderOutcome): void {
    const last = this.#last;
    // A render that changed nothing keeps the document the members have: no patch goes out, and
    // the codes they may call stay those of what they were sent.
    const outcome =
      rendered.ok && last?.ok && equalJson(last.tree.document, rendered.tree.document)
        ? last
        : rendered;
    this.#last = outcome;
    let errorPayload: LenraErrorPayload | undefined;
    if (!outcome.ok) {
      const failure = appFailure(outcome.error);
      this.#log.warn(`The view of route ${this.path} failed: ${failureText(failure)}`);
      // After a data change Lenra pushes the error and keeps the last document it sent.
      errorPayload = failure.toEventPayload();
    }
    for (const member of this.members) {
      if (outcome.ok) show(member, outcome.tree);
      const first = member.awaitingFirst;
      if (first) {
        // A first render that failed refuses the member's join instead.
        member.awaitingFirst = undefined;
        first(outcome);
      } else if (outcome.ok) {
        member.sink.update(outcome.tree.document);
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

/** `tree` is what `member` is sent now. */
function show(member: RouteMember, tree: RenderedTree): void {
  const { shown } = member;
  if (shown.current === tree) return;
  shown.previous = shown.current;
  shown.current = tree;
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
