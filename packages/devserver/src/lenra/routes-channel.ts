import type { ChannelContext, ChannelHandler, ChannelReply } from "../protocol/channel.ts";
import { isPlainObject, toJsonSnapshot } from "../shared/json.ts";
import { ErrorReason } from "./errors.ts";
import type { LenraAssigns } from "./route-channel.ts";

/**
 * `routes`: joined with `{ mode: "json" }`, replies `{ jsonRoutes }` as the session's backend
 * lists them (already filtered by role); with `{ mode: "lenra" }`, `{ lenraRoutes }`. Any other
 * payload gets Lenra's `invalid_channel_name`. It accepts no events.
 *
 * @see PROTOCOL.md §3
 */
export class RoutesChannel implements ChannelHandler {
  readonly #context: ChannelContext<LenraAssigns>;

  constructor(context: ChannelContext<LenraAssigns>) {
    this.#context = context;
  }

  async join(payload: unknown): Promise<ChannelReply> {
    const mode = isPlainObject(payload) ? payload.mode : undefined;
    const { session } = this.#context.assigns;
    if (mode === "json") {
      return { status: "ok", response: { jsonRoutes: toJsonSnapshot(await session.routes()) } };
    }
    if (mode === "lenra") {
      const routes = (await session.lenraRoutes?.()) ?? [];
      return { status: "ok", response: { lenraRoutes: toJsonSnapshot(routes) } };
    }
    return {
      status: "error",
      response: {
        message: "The given channel name does not exist.",
        reason: ErrorReason.InvalidChannelName,
        metadata: {},
      },
    };
  }

  handleIn(event: string): never {
    throw new Error(`Unexpected event "${event}" on the routes channel.`);
  }

  terminate(): void {}
}
