import { type IListener, Listener } from "@lenra/app";
import type { Counter } from "../classes/Counter.ts";

/** What the `counter` view renders for `/counter/global` and `/counter/me`. */
export interface CounterView {
  value: number;
  onIncrement: IListener;
  onDecrement: IListener;
}

/**
 * Renders the one counter its route finds. Before the platform has run the system listener that
 * creates it, the counter is missing: the view shows 0 and its listeners refuse to run.
 */
export function counter(
  [found]: Counter[],
  _props: Record<string, unknown> | undefined,
): CounterView {
  const props = found ? { id: found._id } : {};
  return {
    value: found?.count ?? 0,
    onIncrement: Listener("increment").props(props).toJSON(),
    onDecrement: Listener("decrement").props(props).toJSON(),
  };
}
