import type { counter } from "counter-app/src/views/counter.ts";
import type { todo, todos } from "counter-app/src/views/todos.ts";
import { describe, expectTypeOf, it } from "vitest";
import { type Ref, ref } from "vue";
import {
  createAuthGuard,
  createLenra,
  type Hydrated,
  type LenraClient,
  type LenraError,
  type LenraViewData,
  type Listener,
  type LoginOptions,
  useLenraAuth,
  useLenraView,
  useListener,
  type ViewResult,
} from "../src/index.ts";

type ListenerJson = { _type: "listener"; code: string };
interface ListView {
  items: { id: string; title: string; onRename: ListenerJson }[];
}

describe("useLenraView types", () => {
  it("gives Hydrated<T> data in read-only refs, listener objects turned into Listener functions", () => {
    const result = useLenraView<ListView>("/list");
    expectTypeOf(result.data).toEqualTypeOf<Readonly<Ref<Hydrated<ListView> | undefined>>>();
    expectTypeOf(result.error.value).toEqualTypeOf<LenraError | undefined>();
    expectTypeOf(result.status.value).toEqualTypeOf<"pending" | "success" | "error">();
    const item = result.data.value?.items[0];
    expectTypeOf(item?.onRename).toEqualTypeOf<Listener | undefined>();
    expectTypeOf(result.suspense).returns.resolves.toEqualTypeOf<ViewResult<Hydrated<ListView>>>();
  });

  it("takes the path as a value, a ref or a getter", () => {
    const id = ref("a");
    useLenraView<ListView>(`/items/${id.value}`);
    useLenraView<ListView>(ref("/list"));
    useLenraView<ListView>(
      () => `/items/${id.value}`,
      () => ({ keepPreviousData: true }),
    );
    // @ts-expect-error: a path is a string.
    useLenraView<ListView>(ref(1));
  });

  it("infers S from select", () => {
    const byParameter = useLenraView("/list", {
      select: (data: Hydrated<ListView>) => data.items.map((item) => item.title),
    });
    expectTypeOf(byParameter.data.value).toEqualTypeOf<string[] | undefined>();
    const explicit = useLenraView<ListView, number>("/list", {
      select: (data) => data.items.length,
      isEqual: (a, b) => a === b,
    });
    expectTypeOf(explicit.data.value).toEqualTypeOf<number | undefined>();
    // @ts-expect-error: select must return S.
    useLenraView<ListView, number>("/list", { select: (data) => data.items });
  });

  it("maps the real counter-app view functions to the data the client gets", () => {
    type Counter = LenraViewData<typeof counter>;
    expectTypeOf<Counter>().toEqualTypeOf<{
      value: number;
      onIncrement: Listener;
      onDecrement: Listener;
    }>();
    const { data } = useLenraView<Counter, Counter>("/counter/global");
    expectTypeOf(data.value?.value).toEqualTypeOf<number | undefined>();
    expectTypeOf(data.value?.onDecrement).toEqualTypeOf<Listener | undefined>();

    type Todos = LenraViewData<typeof todos, typeof todo>;
    expectTypeOf<Todos["items"][number]["done"]>().toEqualTypeOf<boolean>();
    expectTypeOf<Todos["items"][number]["onRemove"]>().toEqualTypeOf<Listener>();
  });
});

describe("useListener, useLenraAuth, createLenra and createAuthGuard types", () => {
  it("takes Listener functions, refs or getters, and returns a typed call", () => {
    const { data } = useLenraView<ListView>("/list");
    const rename = useListener<{ title: string }>(() => data.value?.items[0]?.onRename);
    expectTypeOf(rename.call).toEqualTypeOf<(event?: { title: string }) => Promise<void>>();
    expectTypeOf(rename.isPending.value).toBeBoolean();
    expectTypeOf(rename.error.value).toEqualTypeOf<LenraError | undefined>();
    useListener(data.value?.items[0]?.onRename, { concurrency: "parallel" });
    // @ts-expect-error: only listeners can be called.
    useListener(() => data.value?.items[0]?.title);
  });

  it("binds login and logout, and gives the client to code outside components", () => {
    const auth = useLenraAuth();
    expectTypeOf(auth.status.value).toEqualTypeOf<
      "loading" | "guest" | "authenticated" | "error"
    >();
    expectTypeOf(auth.login).parameter(0).toEqualTypeOf<LoginOptions | undefined>();
    const lenra = createLenra({ appName: "counter" });
    expectTypeOf(lenra.client).toEqualTypeOf<LenraClient>();
    createLenra(lenra.client);
    const guard = createAuthGuard(lenra.client, (state, to: { path: string }) =>
      state.status === "authenticated" || to.path === "/" ? true : "/login",
    );
    expectTypeOf(guard).toEqualTypeOf<
      (to: { path: string }) => Promise<true | "/login" | undefined>
    >();
  });
});
