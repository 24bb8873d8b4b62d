import type { ChannelContext, ChannelHandler, ChannelReply } from "../protocol/channel.ts";
import { isPlainObject, type JsonObject, type JsonValue, toJsonSnapshot } from "../shared/json.ts";
import { describeError } from "../shared/log.ts";
import type { BackendSession, RouteErrorPayload, RouteHandle, SessionInfo } from "./backend.ts";
import { IncorrectViewModeError, LenraBackendError, RouteNotFoundError } from "./errors.ts";
import { matchRoutePath } from "./route-path.ts";
import type { SharedDocuments } from "./shared-documents.ts";

/** What the Lenra channels find in a socket's assigns. */
export interface LenraAssigns {
  readonly session: BackendSession;
  readonly info: SessionInfo;
  /** Copies, diffs and payloads shared by the channels of every socket of the server. */
  readonly documents: SharedDocuments;
}

type Held = { kind: "update"; document: JsonValue } | { kind: "error"; payload: RouteErrorPayload };

/** The view mode of a join: Lenra reads a missing `mode` as `lenra`. */
function joinMode(payload: unknown): JsonValue {
  const mode = isPlainObject(payload) ? payload.mode : undefined;
  return mode === undefined ? "lenra" : toJsonSnapshot(mode);
}

function refusal(error: LenraBackendError): ChannelReply {
  return { status: "error", response: error.toPayload() as JsonObject };
}

/**
 * `route:<path>`: joined with `{ mode: "json" }`, pushes `ui` with the whole document after
 * the join reply, then `patchUi` with the RFC 6902 difference from the last document sent
 * (never an empty one), and `error` events as the backend reports them. `run` calls the
 * backend and answers `{}`, or `{ error }` plus an `error` push. A join in `lenra` mode (Lenra
 * components, also what a join without `mode` asks for) gets what Lenra answers for a route it
 * does not have; another mode gets Lenra's `incorrect_view_mode`.
 *
 * @see PROTOCOL.md §3–4
 */
export class RouteChannel implements ChannelHandler {
  readonly #context: ChannelContext<LenraAssigns>;
  readonly #path: string;
  #state: "joining" | "joined" | "closed" = "joining";
  #handle: RouteHandle | undefined;
  // The exact document the client holds, as sent: patches are computed against it.
  #lastSent: JsonValue | undefined;
  // Results the backend gave before the join reply went out, delivered right after `ui`.
  #held: Held[] = [];

  constructor(context: ChannelContext<LenraAssigns>) {
    this.#context = context;
    this.#path = context.topic.slice("route:".length);
  }

  async join(payload: unknown): Promise<ChannelReply> {
    const mode = joinMode(payload);
    if (mode === "lenra") return refusal(await this.#lenraMode());
    if (mode !== "json") return refusal(new IncorrectViewModeError(mode));
    const self = this;
    const sink = {
      update: (document: JsonValue) => this.#accept({ kind: "update", document }),
      error: (errorPayload: RouteErrorPayload) =>
        this.#accept({ kind: "error", payload: errorPayload }),
      get closed() {
        return self.#state === "closed";
      },
    };
    try {
      this.#handle = await this.#context.assigns.session.openRoute(this.#path, sink);
    } catch (error) {
      if (error instanceof LenraBackendError) return refusal(error);
      throw error;
    }
    if (this.#state === "closed") this.#closeHandle();
    return { status: "ok", response: {} };
  }

  /** The dev server renders no Lenra components: Lenra's refusal, and a line saying why. */
  async #lenraMode(): Promise<LenraBackendError> {
    const { assigns, log, topic } = this.#context;
    const declared = (await assigns.session.lenraRoutes?.()) ?? [];
    const isLenraRoute = declared.some(
      (route) =>
        isPlainObject(route) &&
        typeof route.path === "string" &&
        matchRoutePath(route.path, this.#path) !== undefined,
    );
    log.warn(
      isLenraRoute
        ? `A client joined ${topic} in "lenra" mode: it is one of the app's Lenra-component routes, which the dev server does not render. It answers route_does_not_exist instead.`
        : `A client joined ${topic} in "lenra" mode (or without a mode, which Lenra reads as "lenra"): the app has no such Lenra-component route, so Lenra answers route_does_not_exist, as the dev server does. JSON clients join with { mode: "json" }.`,
    );
    return new RouteNotFoundError(this.#path);
  }

  joined(): void {
    this.#state = "joined";
    const initial = this.#handle?.initial;
    if (initial !== undefined) this.#deliver(initial);
    const held = this.#held;
    this.#held = [];
    for (const item of held) this.#apply(item);
  }

  handleIn(event: string, payload: unknown): Promise<ChannelReply> {
    // Lenra's channel has no clause for anything else: its process crashes, and so does this.
    if (event !== "run") throw new Error(`Unexpected event "${event}" on a route channel.`);
    if (!isPlainObject(payload) || typeof payload.code !== "string") {
      throw new Error("A run needs a string `code`.");
    }
    return this.#run(payload.code, payload.event);
  }

  terminate(): void {
    this.#state = "closed";
    this.#held = [];
    this.#closeHandle();
  }

  async #run(code: string, event: unknown): Promise<ChannelReply> {
    const { socketId, topic, events } = this.#context;
    events.record({ type: "run", socketId, topic, code });
    try {
      await this.#context.assigns.session.run(code, event, { route: this.#path });
    } catch (error) {
      if (!(error instanceof LenraBackendError)) throw error;
      events.record({
        type: "runResult",
        socketId,
        topic,
        code,
        status: "error",
        reason: error.reason,
      });
      // Lenra pushes the error event (translated, without status_code) before replying with
      // the error itself.
      this.#context.push("error", error.toEventPayload() as JsonObject);
      return { status: "error", response: { error: error.toPayload() as JsonObject } };
    }
    events.record({ type: "runResult", socketId, topic, code, status: "ok" });
    return { status: "ok", response: {} };
  }

  #accept(item: Held): void {
    if (this.#state === "closed") return;
    if (this.#state === "joining") this.#held.push(item);
    else this.#apply(item);
  }

  #apply(item: Held): void {
    if (item.kind === "error") {
      this.#context.push("error", toJsonSnapshot(item.payload) as JsonObject);
    } else {
      this.#deliver(item.document);
    }
  }

  #deliver(document: JsonValue): void {
    const documents = this.#context.assigns.documents;
    // A JSON copy (shared with every channel given the same document): what the client gets.
    const next = documents.snapshot(document);
    if (!isPlainObject(next)) {
      // Phoenix pushes maps only, so Lenra's server cannot send anything else either.
      this.#context.crash(new TypeError(`The document of route ${this.#path} is not an object.`));
      return;
    }
    const previous = this.#lastSent;
    this.#lastSent = next;
    if (previous === undefined) {
      this.#context.push("ui", next);
      return;
    }
    const patch = documents.patchPayload(previous, next);
    if (patch !== undefined) this.#context.pushEncoded("patchUi", patch);
  }

  #closeHandle(): void {
    const handle = this.#handle;
    this.#handle = undefined;
    if (!handle) return;
    const log = this.#context.log;
    const topic = this.#context.topic;
    try {
      Promise.resolve(handle.close()).catch((error: unknown) =>
        log.error("closing a route failed", { topic, error: describeError(error) }),
      );
    } catch (error) {
      log.error("closing a route failed", { topic, error: describeError(error) });
    }
  }
}
