import { listener } from "@lenra/devserver/testing";
import { afterEach, describe, expect, expectTypeOf, it, vi } from "vitest";
import {
  type Hydrated,
  LenraErrorCode,
  type LenraViewData,
  type Listener,
  ListenerCaller,
  SKIP,
  ViewObserver,
} from "../src/index.ts";
import { type Harness, sleep, startHarness, waitFor } from "./support/server.ts";

interface Item {
  id: string;
  title: string;
}
interface State {
  count: number;
  items: Item[];
}
interface ListView {
  items: (Item & { onRename: { _type: "listener"; code: string } })[];
}
interface CounterView {
  value: number;
  onIncrement: { _type: "listener"; code: string };
  onFail: { _type: "listener"; code: string };
}

let harness: Harness<State>;

async function start() {
  harness = await startHarness<State>({
    state: {
      count: 0,
      items: [
        { id: "a", title: "A" },
        { id: "b", title: "B" },
      ],
    },
    routes: {
      "/list": {
        roles: ["guest"],
        view: (state) => ({
          items: state.items.map((item) => ({
            ...item,
            onRename: listener("rename", { id: item.id }),
          })),
        }),
      },
      "/items/:id": {
        roles: ["guest"],
        view: (state, { pathParams }) =>
          state.items.find((item) => item.id === pathParams.id) ?? {},
      },
      "/counter": {
        roles: ["guest"],
        view: (state) => ({
          value: state.count,
          onIncrement: listener("increment"),
          onFail: listener("fail"),
        }),
      },
    },
    listeners: {
      rename: (state, props, event) => {
        const item = state.items.find((i) => i.id === props?.id);
        if (item) item.title = String((event as { value?: unknown } | undefined)?.value);
      },
      increment: (state) => {
        state.count += 1;
      },
      fail: () => {
        throw new Error("nope");
      },
    },
  });
  return harness;
}

afterEach(async () => {
  await harness?.close();
});

const joins = (topic: string) =>
  harness.server.events.filter((e) => e.type === "join" && e.topic === topic && e.status === "ok")
    .length;

describe("ViewObserver", () => {
  it("notifies only when the selected slice changes, and keeps its identity otherwise", async () => {
    await start();
    const client = harness.client();
    const observer = new ViewObserver<ListView, Hydrated<ListView>["items"][number] | undefined>(
      client,
      {
        path: "/list",
        select: (data) => data.items[0],
      },
    );
    const notified = vi.fn();
    observer.subscribe(notified);
    const first = await waitFor(observer, (r) => r.isSuccess);
    expect(first.data?.title).toBe("A");
    const calls = notified.mock.calls.length;
    await harness.app.update((state) => {
      state.items[1]!.title = "B2";
    });
    await waitFor(client.view<ListView>("/list"), (s) => s.data?.items[1]?.title === "B2");
    expect(notified.mock.calls.length).toBe(calls);
    expect(observer.getSnapshot()).toBe(first);
    await harness.app.update((state) => {
      state.items[0]!.title = "A2";
    });
    const next = await waitFor(observer, (r) => r.data?.title === "A2");
    expect(notified.mock.calls.length).toBe(calls + 1);
    expect(next).not.toBe(first);
  });

  it("shows the previous path's data while the next one loads with keepPreviousData", async () => {
    await start();
    const client = harness.client();
    const observer = new ViewObserver<Item>(client, { path: "/items/a", keepPreviousData: true });
    let off = observer.subscribe(() => {});
    await waitFor(observer, (r) => r.isSuccess);
    off();
    observer.setOptions({ path: "/items/b", keepPreviousData: true });
    const placeholder = observer.getSnapshot();
    expect(placeholder).toMatchObject({
      data: { id: "a" },
      isPreviousData: true,
      status: "success",
    });
    off = observer.subscribe(() => {});
    const loaded = await waitFor(observer, (r) => !r.isPreviousData && r.isSuccess);
    expect(loaded.data).toMatchObject({ id: "b", title: "B" });

    observer.setOptions({ path: "/items/c" });
    expect(observer.getSnapshot()).toMatchObject({
      data: undefined,
      isPending: true,
      isPreviousData: false,
    });
    off();
  });

  it("observes nothing when skipped", async () => {
    await start();
    const observer = new ViewObserver(harness.client(), { path: SKIP });
    const off = observer.subscribe(() => {});
    expect(observer.getSnapshot()).toMatchObject({
      status: "pending",
      data: undefined,
      isPending: true,
    });
    await sleep(100);
    expect(harness.server.stats().sockets).toBe(0);
    off();
  });

  it("loads a view for Suspense and keeps it joined for the component that mounts next", async () => {
    await start();
    const client = harness.client({ lingerMs: 500 });
    const view = client.view<CounterView>("/counter");
    const loading = view.load();
    expect(view.load()).toBe(loading);
    const state = await loading;
    expect(state.status).toBe("success");
    const off = view.subscribe(() => {});
    await sleep(600);
    expect(joins("route:/counter")).toBe(1);
    expect(harness.server.count("leave", "route:/counter")).toBe(0);
    off();
    expect(await view.load()).toBe(view.getSnapshot());
  });
});

describe("ListenerCaller", () => {
  async function counter() {
    await start();
    const view = harness.client().view<CounterView>("/counter");
    view.subscribe(() => {});
    const { data } = await waitFor(view, (s) => s.isStale === false && s.status === "success");
    return { view, data: data! };
  }

  it("drops a second call while the first is pending (double-click guard)", async () => {
    const { data } = await counter();
    const release = harness.app.hang("increment");
    const caller = new ListenerCaller(data.onIncrement);
    const first = caller.call();
    const second = caller.call();
    expect(caller.getSnapshot().isPending).toBe(true);
    await sleep(100);
    release();
    await Promise.all([first, second]);
    expect(caller.getSnapshot()).toEqual({ isPending: false, error: undefined });
    expect(harness.app.calls.filter((c) => c.name === "increment")).toHaveLength(1);
  });

  it("queues or parallelizes calls when asked", async () => {
    const { data } = await counter();
    const queued = new ListenerCaller(data.onIncrement, { concurrency: "queue" });
    await Promise.all([queued.call(), queued.call(), queued.call()]);
    expect(harness.app.state.count).toBe(3);
    const parallel = new ListenerCaller(data.onIncrement, { concurrency: "parallel" });
    await Promise.all([parallel.call(), parallel.call()]);
    expect(harness.app.state.count).toBe(5);
  });

  it("keeps the error of a failed call until reset or the next call", async () => {
    const { data } = await counter();
    const caller = new ListenerCaller(data.onFail);
    await expect(caller.call()).resolves.toBeUndefined();
    expect(caller.getSnapshot()).toMatchObject({
      isPending: false,
      error: { code: LenraErrorCode.ListenerFailed, reason: "listener_error" },
    });
    const before = caller.getSnapshot();
    caller.reset();
    expect(caller.getSnapshot()).toEqual({ isPending: false, error: undefined });
    expect(caller.getSnapshot()).not.toBe(before);
  });

  it("calls the latest listener it was given", async () => {
    const { data } = await counter();
    const caller = new ListenerCaller<unknown>(data.onFail);
    caller.setListener(data.onIncrement);
    await caller.call();
    expect(harness.app.state.count).toBe(1);
    expect(caller.getSnapshot().error).toBeUndefined();
  });

  it("shows an optimistic update at once, then the server's value", async () => {
    const { view, data } = await counter();
    const release = harness.app.hang("increment");
    const caller = new ListenerCaller(data.onIncrement, {
      optimistic: [{ op: "replace", path: "/value", value: 1 }],
    });
    const seen: number[] = [];
    view.subscribe(() => seen.push(view.getSnapshot().data?.value ?? -1));
    const call = caller.call();
    expect(view.getSnapshot().data?.value).toBe(1);
    // Listener functions survive the optimistic layer.
    expect(view.getSnapshot().data?.onIncrement).toBe(data.onIncrement);
    release();
    await call;
    await sleep(50);
    expect(view.getSnapshot().data?.value).toBe(1);
    await harness.app.update((state) => {
      state.count = 10;
    });
    await waitFor(view, (s) => s.data?.value === 10);
    expect(seen).not.toContain(0);
  });

  it("rolls an optimistic update back when the call fails", async () => {
    const { view, data } = await counter();
    const caller = new ListenerCaller(data.onFail, {
      optimistic: [{ op: "replace", path: "/value", value: 99 }],
    });
    const seen: number[] = [];
    view.subscribe(() => seen.push(view.getSnapshot().data?.value ?? -1));
    await caller.call();
    expect(seen).toContain(99);
    expect(view.getSnapshot().data?.value).toBe(0);
    expect(caller.getSnapshot().error).toBeDefined();
  });
});

describe("types", () => {
  it("maps a @lenra/app view's return type to the hydrated data", () => {
    class ListenerImpl {
      toJSON() {
        return { _type: "listener" as const, name: "increment" };
      }
    }
    class ViewImpl {
      toJSON() {
        return { _type: "view" as const, name: "item" };
      }
    }
    const item = (_data: unknown[]) => ({ id: "x", done: false, onToggle: new ListenerImpl() });
    const list = (_data: unknown[]) => ({
      count: 3,
      when: new Date(),
      items: [new ViewImpl()],
      onAdd: new ListenerImpl(),
      helper: () => 1,
    });
    type Data = LenraViewData<typeof list, typeof item>;
    expectTypeOf<Data["count"]>().toEqualTypeOf<number>();
    expectTypeOf<Data["when"]>().toEqualTypeOf<string>();
    expectTypeOf<Data["onAdd"]>().toEqualTypeOf<Listener>();
    expectTypeOf<Data["items"][number]["onToggle"]>().toEqualTypeOf<Listener>();
    expectTypeOf<Data["items"][number]["done"]>().toEqualTypeOf<boolean>();
    expectTypeOf<Data>().not.toHaveProperty("helper");
    expectTypeOf<Hydrated<CounterView>["onIncrement"]>().toEqualTypeOf<Listener>();
  });
});
