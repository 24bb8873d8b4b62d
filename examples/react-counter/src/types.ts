import type { Listener } from "@lenra/react";

// The data of counter-app's views as the client gives them: listener objects become Listeners.
// They are written out here so that this front end needs nothing but its own files. A project that
// has the app's sources can derive them instead, `LenraViewData<typeof counter>` (see
// @lenra/client's README); this repository checks that both agree (e2e/test/example-types.ts).

/** `/counter/global` and `/counter/me`: the `counter` view. */
export interface CounterData {
  value: number;
  onIncrement: Listener;
  onDecrement: Listener;
}

/** `/todos/:id`, and each item of `/todos`: the `todo` view. */
export interface TodoData {
  id: string;
  title: string;
  done: boolean;
  onToggle: Listener;
  onRemove: Listener;
}

/** `/todos`: the `todos` view, whose items are nested `todo` views. */
export interface TodosData {
  items: TodoData[];
  remaining: number;
  onAdd: Listener;
}
