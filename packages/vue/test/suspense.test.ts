import { type CounterView, type Harness, type Item, startHarness } from "@lenra/test-utils/server";
import { afterEach, describe, expect, it, vi } from "vitest";
import { defineComponent, h, onErrorCaptured, ref, Suspense } from "vue";
import { LenraErrorCode, useLenraView } from "../src/index.ts";
import { mountWith } from "./support/mount.ts";

let harness: Harness;

afterEach(async () => {
  vi.restoreAllMocks();
  await harness?.close();
});

const AsyncCounter = defineComponent({
  async setup() {
    const { data, suspense } = useLenraView<CounterView>("/counter");
    await suspense();
    return () => h("p", `value:${data.value?.value}`);
  },
});

const AsyncMissing = defineComponent({
  async setup() {
    const { data, suspense } = useLenraView<Item>("/items/missing");
    await suspense();
    return () => h("p", data.value?.title);
  },
});

/** `<Suspense>` around `inner`, showing the code of any error it catches. */
function suspended(inner: ReturnType<typeof defineComponent>) {
  return defineComponent({
    setup() {
      const caught = ref<string>();
      onErrorCaptured((error) => {
        caught.value = (error as { code?: string }).code;
        return false;
      });
      return () =>
        caught.value
          ? h("p", `caught: ${caught.value}`)
          : h(Suspense, null, { default: () => h(inner), fallback: () => h("p", "loading") });
    },
  });
}

describe("suspense()", () => {
  it("holds an async setup under <Suspense> until the first data, with one join", async () => {
    harness = await startHarness();
    // Vue says <Suspense> is experimental.
    vi.spyOn(console, "info").mockImplementation(() => {});
    const wrapper = mountWith(harness.client(), suspended(AsyncCounter));
    expect(wrapper.text()).toBe("loading");
    await vi.waitFor(() => expect(wrapper.text()).toBe("value:0"));
    await harness.app.update((state) => {
      state.count = 3;
    });
    await vi.waitFor(() => expect(wrapper.text()).toBe("value:3"));
    expect(harness.joins("route:/counter")).toBe(1);
    expect(harness.leaves("route:/counter")).toBe(0);
  });

  it("rejects with the view's error, for onErrorCaptured", async () => {
    harness = await startHarness();
    const wrapper = mountWith(harness.client(), suspended(AsyncMissing));
    await vi.waitFor(() => expect(wrapper.text()).toBe(`caught: ${LenraErrorCode.RouteError}`));
  });
});
