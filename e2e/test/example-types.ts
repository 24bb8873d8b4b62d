/**
 * The examples write out the data types of counter-app's views so that a copy of one needs nothing
 * but its own files. These type-level assertions (checked by `pnpm typecheck`, never run) keep them
 * equal to what `LenraViewData` derives from the view functions themselves.
 */
import type { LenraViewData } from "@lenra/client";
import type { counter } from "counter-app/src/views/counter.ts";
import type { todo, todos } from "counter-app/src/views/todos.ts";
import type * as React from "react-counter/src/types.ts";
import { expectTypeOf } from "vitest";
import type * as Vue from "vue-counter/src/types.ts";

type Counter = LenraViewData<typeof counter>;
type Todo = LenraViewData<typeof todo>;
type Todos = LenraViewData<typeof todos, typeof todo>;

expectTypeOf<React.CounterData>().toEqualTypeOf<Counter>();
expectTypeOf<React.TodoData>().toEqualTypeOf<Todo>();
expectTypeOf<React.TodosData>().toEqualTypeOf<Todos>();
expectTypeOf<Vue.CounterData>().toEqualTypeOf<Counter>();
expectTypeOf<Vue.TodoData>().toEqualTypeOf<Todo>();
expectTypeOf<Vue.TodosData>().toEqualTypeOf<Todos>();
