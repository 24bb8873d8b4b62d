import { type JsonObject, LenraBackendError } from "../src/protocol.ts";
import { listener, type TestAppOptions } from "../src/testing.ts";

export interface CounterState {
  count: number;
  title: string;
  perUser: Record<string, number>;
}

/** A small app exercising every feature the protocol tests need. */
export function counterApp(): TestAppOptions<CounterState> {
  return {
    state: { count: 0, title: "Counter", perUser: {} },
    routes: {
      "/counter": {
        roles: ["guest", "user"],
        view: (state) => ({
          value: state.count,
          title: state.title,
          onIncrement: listener("increment"),
          onAdd: listener("add", { amount: 5 }),
          onFail: listener("fail"),
          onRefuse: listener("refuse"),
          onSlow: listener("slow"),
          onMissing: listener("missing"),
        }),
      },
      "/counter/me": {
        view: (state, { me }) => ({
          me: me ?? null,
          value: state.perUser[me ?? ""] ?? 0,
          onIncrement: listener("incrementMine"),
        }),
      },
      "/items/:id": {
        roles: ["guest", "user"],
        view: async (_state, { pathParams }) => {
          await Promise.resolve();
          return { id: pathParams.id ?? null };
        },
      },
      "/context": {
        roles: ["guest", "user"],
        view: (_state, { context, me, roles }) => ({ context, me: me ?? null, roles: [...roles] }),
      },
      "/broken": {
        roles: ["guest", "user"],
        view: (state) => {
          if (state.title === "broken") throw new Error("The view failed");
          return { title: state.title };
        },
      },
    },
    listeners: {
      increment: (state) => {
        state.count++;
      },
      add: (state, props, event) => {
        const extra = (event as { extra?: number } | undefined)?.extra ?? 0;
        state.count += ((props as JsonObject).amount as number) + extra;
      },
      fail: () => {
        throw new Error("Boom");
      },
      refuse: () => {
        throw new LenraBackendError("not_allowed", "You may not do that.");
      },
      slow: async (state) => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        state.count += 100;
      },
      incrementMine: (state, _props, _event, { me }) => {
        if (me) state.perUser[me] = (state.perUser[me] ?? 0) + 1;
      },
    },
  };
}
