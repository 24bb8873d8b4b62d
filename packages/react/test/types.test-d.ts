import type { counter } from "counter-app/src/views/counter.ts";
import type { todo, todos } from "counter-app/src/views/todos.ts";
import { describe, expectTypeOf, it } from "vitest";
import {
  type Hydrated,
  type LenraError,
  type LenraViewData,
  type Listener,
  type SuspenseViewResult,
  useLenraAuth,
  useLenraView,
  useListener,
  useSuspenseLenraView,
  type ViewResult,
} from "../src/index.ts";

type ListenerJson = { _type: "listener"; code: string };
interface ListView {
  items: { id: string; title: string; onRename: ListenerJson }[];
}

describe("useLenraView types", () => {
  it("gives Hydrated<T> data, listener objects turned into Listener functions", () => {
    const result = useLenraView<ListView>("/list");
    expectTypeOf(result).toEqualTypeOf<ViewResult<Hydrated<ListView>>>();
    expectTypeOf(result.data).toEqualTypeOf<Hydrated<ListView> | undefined>();
    expectTypeOf(result.error).toEqualTypeOf<LenraError | undefined>();
    const item = result.data?.items[0];
    expectTypeOf(item?.onRename).toEqualTypeOf<Listener | undefined>();
    expectTypeOf(item?.title).toEqualTypeOf<string | undefined>();
  });

  it("infers S from select", () => {
    const byParameter = useLenraView("/list", {
      select: (data: Hydrated<ListView>) => data.items.map((item) => item.title),
    });
    expectTypeOf(byParameter.data).toEqualTypeOf<string[] | undefined>();
    const explicit = useLenraView<ListView, number>("/list", {
      select: (data) => data.items.length,
      isEqual: (a, b) => a === b,
    });
    expectTypeOf(explicit.data).toEqualTypeOf<number | undefined>();
    // @ts-expect-error: select must return S.
    useLenraView<ListView, number>("/list", { select: (data) => data.items });
  });

  it("gives data that is always there under Suspense", () => {
    const result = useSuspenseLenraView<ListView>("/list");
    expectTypeOf(result).toEqualTypeOf<SuspenseViewResult<Hydrated<ListView>>>();
    expectTypeOf(result.data).toEqualTypeOf<Hydrated<ListView>>();
  });

  it("maps the real counter-app view functions to the data the client gets", () => {
    type Counter = LenraViewData<typeof counter>;
    expectTypeOf<Counter>().toEqualTypeOf<{
      value: number;
      onIncrement: Listener;
      onDecrement: Listener;
    }>();
    const { data } = useLenraView<Counter, Counter>("/counter/global");
    expectTypeOf(data?.value).toEqualTypeOf<number | undefined>();
    expectTypeOf(data?.onIncrement).toEqualTypeOf<Listener | undefined>();

    type Todos = LenraViewData<typeof todos, typeof todo>;
    expectTypeOf<Todos["remaining"]>().toEqualTypeOf<number>();
    expectTypeOf<Todos["onAdd"]>().toEqualTypeOf<Listener>();
    expectTypeOf<Todos["items"][number]["title"]>().toEqualTypeOf<string>();
    expectTypeOf<Todos["items"][number]["onToggle"]>().toEqualTypeOf<Listener>();
  });
});

describe("useListener and useLenraAuth types", () => {
  it("takes Listener functions and returns a typed call", () => {
    const { data } = useLenraView<ListView>("/list");
    const rename = useListener<{ title: string }>(data?.items[0]?.onRename);
    expectTypeOf(rename.call).toEqualTypeOf<(event?: { title: string }) => Promise<void>>();
    expectTypeOf(rename.isPending).toBeBoolean();
    expectTypeOf(rename.error).toEqualTypeOf<LenraError | undefined>();
    useListener(data?.items[0]?.onRename, {
      optimistic: [{ op: "replace", path: "/items/0/title", value: "…" }],
      concurrency: "queue",
    });
    // @ts-expect-error: only listeners can be called.
    useListener(data?.items[0]?.title);
  });

  it("binds login and logout", () => {
    const auth = useLenraAuth();
    expectTypeOf(auth.status).toEqualTypeOf<"loading" | "guest" | "authenticated" | "error">();
    expectTypeOf(auth.login)
      .parameter(0)
      .toEqualTypeOf<import("../src/index.ts").LoginOptions | undefined>();
  });
});
