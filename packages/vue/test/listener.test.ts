import { type CounterView, type Harness, startHarness } from "@lenra/test-utils/server";
import { afterEach, describe, expect, it } from "vitest";
import { ref } from "vue";
import {
  type JsonPatchOperation,
  LenraErrorCode,
  LenraListenerError,
  type ListenerCallOptions,
  useLenraView,
  useListener,
} from "../src/index.ts";
import { withSetup } from "./support/mount.ts";

let harness: Harness;

afterEach(async () => {
  await harness?.close();
});

const TO_TEN: JsonPatchOperation[] = [{ op: "replace", path: "/value", value: 10 }];

/** A counter view and one of its listeners, as a component would use them. */
function setupCounter(name: "onIncrement" | "onFail", options: ListenerCallOptions<unknown> = {}) {
  const which = ref(name);
  const { result } = withSetup(harness.client(), () => {
    const view = useLenraView<CounterView>("/counter");
    const listener = useListener(() => view.data.value?.[which.value], options);
    return { view, listener };
  });
  return { ...result, which };
}

const increments = () => harness.app.calls.filter((call) => call.name === "increment");

describe("useListener", () => {
  it("tracks pending, then the server's update", async () => {
    harness = await startHarness();
    const { view, listener } = setupCounter("onIncrement");
    await expect.poll(() => view.isSuccess.value).toBe(true);
    expect(listener.isPending.value).toBe(false);
    expect(listener.error.value).toBeUndefined();
    const release = harness.app.hang("increment");
    const done = listener.call();
    expect(listener.isPending.value).toBe(true);
    release();
    await done;
    expect(listener.isPending.value).toBe(false);
    expect(listener.error.value).toBeUndefined();
    await expect.poll(() => view.data.value?.value).toBe(1);
  });

  it("keeps the error until reset, and call never rejects", async () => {
    harness = await startHarness();
    const { view, listener } = setupCounter("onFail");
    await expect.poll(() => view.isSuccess.value).toBe(true);
    await listener.call();
    expect(listener.error.value).toBeInstanceOf(LenraListenerError);
    expect(listener.error.value?.code).toBe(LenraErrorCode.ListenerFailed);
    listener.reset();
    expect(listener.error.value).toBeUndefined();
  });

  it("keeps `call` the same function and calls the listener the getter gives now", async () => {
    harness = await startHarness();
    const { view, listener, which } = setupCounter("onIncrement");
    await expect.poll(() => view.isSuccess.value).toBe(true);
    const { call } = listener;
    which.value = "onFail";
    expect(listener.call).toBe(call);
    await listener.call();
    expect(listener.error.value?.code).toBe(LenraErrorCode.ListenerFailed);
    expect(harness.app.calls.map((c) => c.name)).toEqual(["fail"]);
  });

  it("takes a listener function as is, without calling it", async () => {
    harness = await startHarness();
    const { result } = withSetup(harness.client(), () => useLenraView<CounterView>("/counter"));
    await expect.poll(() => result.data.value?.value).toBe(0);
    const { result: listener } = withSetup(harness.client(), () =>
      useListener(result.data.value?.onIncrement),
    );
    expect(harness.app.calls).toHaveLength(0);
    await listener.call();
    expect(increments()).toHaveLength(1);
  });

  it("drops a second call while one is pending (the double-click guard)", async () => {
    harness = await startHarness();
    const { view, listener } = setupCounter("onIncrement");
    await expect.poll(() => view.isSuccess.value).toBe(true);
    const release = harness.app.hang("increment");
    const first = listener.call();
    const second = listener.call();
    await expect.poll(() => increments().length).toBe(1);
    release();
    await Promise.all([first, second]);
    await expect.poll(() => view.data.value?.value).toBe(1);
    expect(increments()).toHaveLength(1);
  });

  it("queues or runs in parallel when asked", async () => {
    harness = await startHarness();
    const queued = setupCounter("onIncrement", { concurrency: "queue" });
    await expect.poll(() => queued.view.isSuccess.value).toBe(true);
    await Promise.all([queued.listener.call(), queued.listener.call()]);
    await expect.poll(() => queued.view.data.value?.value).toBe(2);
    const parallel = setupCounter("onIncrement", { concurrency: "parallel" });
    await expect.poll(() => parallel.view.isSuccess.value).toBe(true);
    await Promise.all([parallel.listener.call(), parallel.listener.call()]);
    await expect.poll(() => parallel.view.data.value?.value).toBe(4);
    expect(increments()).toHaveLength(4);
  });

  it("shows an optimistic update at once, then the server's document", async () => {
    harness = await startHarness();
    const { view, listener } = setupCounter("onIncrement", { optimistic: TO_TEN });
    await expect.poll(() => view.data.value?.value).toBe(0);
    const release = harness.app.hang("increment");
    const done = listener.call();
    expect(view.data.value?.value).toBe(10);
    release();
    await done;
    await expect.poll(() => view.data.value?.value).toBe(1);
    expect(listener.isPending.value).toBe(false);
  });

  it("rolls an optimistic update back when the call fails", async () => {
    harness = await startHarness();
    const { view, listener } = setupCounter("onFail", { optimistic: () => TO_TEN });
    await expect.poll(() => view.data.value?.value).toBe(0);
    const done = listener.call();
    expect(view.data.value?.value).toBe(10);
    await done;
    expect(listener.error.value?.code).toBe(LenraErrorCode.ListenerFailed);
    expect(view.data.value?.value).toBe(0);
  });
});
