import type { LenraViewData } from "@lenra/react";
import type { counter } from "counter-app/src/views/counter.ts";
import type { todo, todos } from "counter-app/src/views/todos.ts";

// The data of counter-app's views, typed from the view functions themselves (type-only imports).
export type CounterData = LenraViewData<typeof counter>;
export type TodoData = LenraViewData<typeof todo>;
export type TodosData = LenraViewData<typeof todos, typeof todo>;
