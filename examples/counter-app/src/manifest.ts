import { type Manifest, View } from "@lenra/app";
import { Counter } from "./classes/Counter.ts";
import { Todo } from "./classes/Todo.ts";

/** The JSON routes; a route without `roles` is for signed-in users only. */
export const json: Manifest["json"] = {
  routes: [
    {
      path: "/counter/global",
      view: View("counter").find(Counter, { user: "global" }).toJSON(),
      roles: ["guest", "user"],
    },
    {
      path: "/counter/me",
      view: View("counter").find(Counter, { user: "@me" }).toJSON(),
    },
    {
      path: "/todos",
      // The list only needs each item's id and state: titles are read by the nested item views.
      view: View("todos")
        .find(Todo, { user: "@me" }, { done: 1 }, { sort: { _id: 1 } })
        .toJSON(),
      roles: ["user"],
    },
    {
      path: "/todos/:id",
      view: View("todo").find(Todo, { _id: "@route.id", user: "@me" }).toJSON(),
      roles: ["user"],
    },
  ],
};
