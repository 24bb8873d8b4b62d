import { type IListener, type IView, Listener, View } from "@lenra/app";
import { Todo } from "../classes/Todo.ts";

/** What the `todos` view renders for `/todos`: one nested `todo` view per item. */
export interface TodosView {
  items: IView[];
  remaining: number;
  onAdd: IListener;
}

/** What the `todo` view renders, for `/todos/:id` and for each item of the list. */
export interface TodoView {
  id: string;
  title: string;
  done: boolean;
  onToggle: IListener;
  onRemove: IListener;
}

/** The list gets items projected to `_id` and `done`; each item renders itself as a nested view. */
export function todos(
  items: Pick<Todo, "_id" | "done">[],
  _props: Record<string, unknown> | undefined,
): TodosView {
  return {
    items: items.map((item) =>
      View("todo").props({ id: item._id }).find(Todo, { _id: item._id, user: "@me" }).toJSON(),
    ),
    remaining: items.filter((item) => !item.done).length,
    onAdd: Listener("addTodo").toJSON(),
  };
}

/** Renders one todo of the current user; another user's or a removed todo is a view error. */
export function todo([found]: Todo[], _props: Record<string, unknown> | undefined): TodoView {
  if (!found) throw new Error("Todo not found");
  const listenerProps = { id: found._id };
  return {
    id: found._id,
    title: found.title,
    done: found.done,
    onToggle: Listener("toggleTodo").props(listenerProps).toJSON(),
    onRemove: Listener("removeTodo").props(listenerProps).toJSON(),
  };
}
