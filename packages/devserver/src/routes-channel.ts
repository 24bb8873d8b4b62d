import type { ChannelContext, ChannelHandler, ChannelReply } from "./channel.ts";
import { isPlainObject, toJsonSnapshot } from "./json.ts";
import { incorrectViewMode, type LenraAssigns } from "./route-channel.ts";

/**
 * `routes`: joined with `{ mode: "json" }`, replies `{ jsonRoutes }` as the session's backend
 * lists them (already filtered by role). It accepts no events.
 *
 * @see PROTOCOL.md §3
 */
export class RoutesChannel implements ChannelHandler {
  readonly #context: ChannelContext<LenraAssigns>;

  constructor(context: ChannelContext<LenraAssigns>) {
    this.#context = context;
  }

  async join(payload: unknown): Promise<ChannelReply> {
    if (!isPlainObject(payload) || payload.mode !== "json") return incorrectViewMode(payload);
    const routes = await this.#context.assigns.session.routes();
    return { status: "ok", response: { jsonRoutes: toJsonSnapshot(routes) } };
  }

  handleIn(event: string): never {
    throw new Error(`Unexpected event "${event}" on the routes channel.`);
  }

  terminate(): void {}
}
