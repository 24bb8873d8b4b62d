import type { Api } from "@lenra/app";
import { Todo } from "../classes/Todo.ts";

type Props = Record<string, unknown> | undefined;

const MAX_TITLE = 100;

/** Adds a todo for the current user; the event is what a text field sends: `{ value }`. */
export async function addTodo(_props: Props, event: unknown, api: Api): Promise<void> {
  const value = (event as { value?: unknown } | undefined)?.value;
  const title = typeof value === "string" ? value.trim() : "";
  // The messages are for the person typing: the front ends show them as they are.
  if (title === "") throw new Error("A todo needs a title");
  if (title.length > MAX_TITLE) throw new Error(`A todo title has ${MAX_TITLE} characters at most`);
  await api.data.coll(Todo).createDoc(new Todo("@me", title, false));
}

/** Flips `done` inside a transaction, so the read and the write see the same todo. */
export async function toggleTodo(props: Props, _event: unknown, api: Api): Promise<void> {
  const id = todoId(props);
  const transaction = await api.data.startTransaction();
  try {
    const [found] = await transaction.coll(Todo).find({ _id: id, user: "@me" });
    if (!found) throw new Error("Todo not found");
    await transaction
      .coll(Todo)
      .updateMany({ _id: id, user: "@me" }, { $set: { done: !found.done } });
    await transaction.commit();
  } catch (error) {
    await transaction.abort();
    throw error;
  }
}

export async function removeTodo(props: Props, _event: unknown, api: Api): Promise<void> {
  const id = todoId(props);
  // Looking the todo up under "@me" first keeps a user from removing another user's todo.
  const [found] = await api.data.coll(Todo).find({ _id: id, user: "@me" });
  if (!found) throw new Error("Todo not found");
  await api.data.coll(Todo).deleteDoc(found);
}

function todoId(props: Props): string {
  const id = props?.id;
  if (typeof id !== "string" || id === "") throw new Error("Missing todo id");
  return id;
}
