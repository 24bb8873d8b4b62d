import {
  type CounterView,
  type Harness,
  type Item,
  type ListView,
  sleep,
  startHarness,
} from "@lenra/test-utils/server";
import { flushPromises } from "@vue/test-utils";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  createApp,
  defineComponent,
  effectScope,
  h,
  isProxy,
  isReactive,
  nextTick,
  ref,
  shallowReactive,
} from "vue";
import {
  createLenra,
  isListener,
  SKIP,
  useLenraClient,
  useLenraConnection,
  useLenraView,
} from "../src/index.ts";
import { mountWith, withSetup } from "./support/mount.ts";

let harness: Harness;

afterEach(async () => {
  vi.restoreAllMocks();
  await harness?.close();
});

const Counter = defineComponent({
  props: { path: { type: String, default: "/counter" } },
  setup(props) {
    const { data, status } = useLenraView<CounterView>(() => props.path);
    return () => h("p", `${status.value}:${data.value?.value ?? "-"}`);
  },
});

/** Renders of each `Title`, by index. */
let renders: number[] = [];

const Title = defineComponent({
  props: { index: { type: Number, required: true } },
  setup(props) {
    const { data } = useLenraView<ListView, string | undefined>("/list", {
      select: (view) => view.items[props.index]?.title,
    });
    return () => {
      renders[props.index] = (renders[props.index] ?? 0) + 1;
      return h("li", data.value ?? "…");
    };
  },
});

describe("useLenraView over a real socket", () => {
  it("shows pending, then the data as is: listener functions, no reactive copy", async () => {
    harness = await startHarness();
    const client = harness.client();
    const { result } = withSetup(client, () => useLenraView<CounterView>("/counter"));
    expect(result.status.value).toBe("pending");
    expect(result.isPending.value).toBe(true);
    await vi.waitFor(() => expect(result.status.value).toBe("success"));
    expect(result.isSuccess.value).toBe(true);
    expect(result.data.value?.value).toBe(0);
    expect(isListener(result.data.value?.onIncrement)).toBe(true);
    expect(isReactive(result.data.value)).toBe(false);
    expect(isProxy(result.data.value)).toBe(false);
    expect(result.data.value).toBe(client.view("/counter").getSnapshot().data);
  });

  it("updates on each patch, in the DOM too", async () => {
    harness = await startHarness();
    const wrapper = mountWith(harness.client(), Counter);
    await vi.waitFor(() => expect(wrapper.text()).toBe("success:0"));
    await harness.app.update((state) => {
      state.count = 7;
    });
    await vi.waitFor(() => expect(wrapper.text()).toBe("success:7"));
  });

  it("shares one join between two components on one path", async () => {
    harness = await startHarness();
    const client = harness.client();
    const Both = defineComponent({ setup: () => () => [h(Counter), h(Counter)] });
    const wrapper = mountWith(client, Both);
    await vi.waitFor(() => expect(wrapper.text()).toBe("success:0success:0"));
    await sleep(100);
    expect(harness.joins("route:/counter")).toBe(1);
    expect(harness.server.stats().channels["route:/counter"]).toBe(1);
  });

  it("subscribes to nothing with SKIP, then joins when the path ref changes", async () => {
    harness = await startHarness();
    const client = harness.client();
    const path = ref<string | typeof SKIP>(SKIP);
    const { result } = withSetup(client, () => useLenraView<CounterView>(path));
    await sleep(100);
    expect(result.status.value).toBe("pending");
    expect(client.connection.getSnapshot().status).toBe("idle");
    expect(harness.server.events.filter((e) => e.type === "join")).toHaveLength(0);
    path.value = "/counter";
    await vi.waitFor(() => expect(result.data.value?.value).toBe(0));
  });

  it("switches the subscription when a path ref changes, pending in between", async () => {
    harness = await startHarness();
    const path = ref("/items/i0");
    const { result } = withSetup(harness.client({ lingerMs: 50 }), () => useLenraView<Item>(path));
    await vi.waitFor(() => expect(result.data.value?.title).toBe("Item 0"));
    path.value = "/items/i1";
    expect(result.status.value).toBe("pending");
    expect(result.data.value).toBeUndefined();
    await vi.waitFor(() => expect(result.data.value?.title).toBe("Item 1"));
    await vi.waitFor(() => expect(harness.leaves("route:/items/i0")).toBe(1));
    expect(harness.leaves("route:/items/i1")).toBe(0);
  });

  it("follows a getter and keeps the previous data, flagged, while the next path loads", async () => {
    harness = await startHarness();
    const id = ref("i0");
    const options = shallowReactive({ keepPreviousData: true });
    const { result } = withSetup(harness.client(), () =>
      useLenraView<Item>(() => `/items/${id.value}`, options),
    );
    await vi.waitFor(() => expect(result.data.value?.title).toBe("Item 0"));
    id.value = "i1";
    expect(result.isPreviousData.value).toBe(true);
    expect(result.status.value).toBe("success");
    expect(result.data.value?.title).toBe("Item 0");
    await vi.waitFor(() => expect(result.data.value?.title).toBe("Item 1"));
    expect(result.isPreviousData.value).toBe(false);
    // Options are reactive too.
    options.keepPreviousData = false;
    id.value = "i2";
    expect(result.status.value).toBe("pending");
    await vi.waitFor(() => expect(result.data.value?.title).toBe("Item 2"));
  });

  it("re-renders only the components whose selected slice changed", async () => {
    harness = await startHarness(3);
    renders = [0, 0, 0];
    const List = defineComponent({
      setup: () => () =>
        h(
          "ul",
          [0, 1, 2].map((index) => h(Title, { index })),
        ),
    });
    const wrapper = mountWith(harness.client(), List);
    await vi.waitFor(() => expect(wrapper.text()).toBe("Item 0Item 1Item 2"));
    const before = [...renders];
    await harness.app.update((state) => {
      const item = state.items[1];
      if (item) item.title = "Renamed";
    });
    await vi.waitFor(() => expect(wrapper.text()).toBe("Item 0RenamedItem 2"));
    await sleep(50);
    expect(renders[1]).toBe((before[1] ?? 0) + 1);
    expect(renders[0]).toBe(before[0]);
    expect(renders[2]).toBe(before[2]);
  });

  it("releases the view when the component unmounts: the channel leaves after the linger", async () => {
    harness = await startHarness();
    const wrapper = mountWith(harness.client({ lingerMs: 200 }), Counter);
    await vi.waitFor(() => expect(wrapper.text()).toBe("success:0"));
    wrapper.unmount();
    await sleep(100);
    expect(harness.leaves("route:/counter")).toBe(0);
    await harness.server.until(() => harness.leaves("route:/counter") === 1);
    expect(harness.joins("route:/counter")).toBe(1);
  });

  it("works in an effect scope and releases the view when the scope stops", async () => {
    harness = await startHarness();
    const app = createApp({}).use(createLenra(harness.client()));
    const scope = effectScope();
    const result = app.runWithContext(() => scope.run(() => useLenraView<CounterView>("/counter")));
    await vi.waitFor(() => expect(result?.data.value?.value).toBe(0));
    scope.stop();
    await harness.server.until(() => harness.leaves("route:/counter") === 1);
  });

  it("warns outside any scope and then subscribes to nothing, so nothing leaks", async () => {
    harness = await startHarness();
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const app = createApp({}).use(createLenra(harness.client()));
    const result = app.runWithContext(() => useLenraView<CounterView>("/counter"));
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toMatch(
      /useLenraView\(\) was called outside setup\(\) and any effect scope/,
    );
    await sleep(100);
    expect(result.status.value).toBe("pending");
    expect(harness.server.events.filter((e) => e.type === "join")).toHaveLength(0);
  });

  it("shows the connection's status", async () => {
    harness = await startHarness();
    const client = harness.client();
    const { result } = withSetup(client, () => ({
      connection: useLenraConnection(),
      view: useLenraView("/counter"),
    }));
    await vi.waitFor(() => expect(result.connection.status.value).toBe("open"));
    await client.disconnect();
    expect(result.connection.status.value).toBe("closed");
    await vi.waitFor(() => expect(result.view.isStale.value).toBe(true));
  });
});

describe("without the plugin", () => {
  it("throws an error saying to install it", async () => {
    expect(() => useLenraClient()).toThrow(/app\.use\(createLenra\(/);
    // Vue warns that the component that threw has nothing to render.
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const errors: unknown[] = [];
    const app = createApp(Counter);
    app.config.errorHandler = (error) => void errors.push(error);
    app.mount(document.createElement("div"));
    await nextTick();
    await flushPromises();
    expect(String(errors[0])).toMatch(/no Lenra client here\. Install it with app\.use/);
    app.unmount();
  });
});
