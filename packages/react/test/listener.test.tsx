import { type CounterView, type Harness, startHarness } from "@lenra/test-utils/server";
import { act, cleanup, renderHook, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import {
  type JsonPatchOperation,
  LenraErrorCode,
  LenraListenerError,
  type ListenerCallOptions,
  useLenraView,
  useListener,
} from "../src/index.ts";
import { wrapper } from "./support/render.tsx";

let harness: Harness;

afterEach(async () => {
  cleanup();
  await harness?.close();
});

const TO_TEN: JsonPatchOperation[] = [{ op: "replace", path: "/value", value: 10 }];

/** A counter view and one of its listeners, as a component would use them. */
function renderCounter(name: "onIncrement" | "onFail", options: ListenerCallOptions<unknown> = {}) {
  return renderHook(
    ({ name, options }) => {
      const view = useLenraView<CounterView>("/counter");
      const listener = useListener(view.data?.[name], options);
      return { view, listener };
    },
    { wrapper: wrapper(harness.client()), initialProps: { name, options } },
  );
}

const increments = () => harness.app.calls.filter((call) => call.name === "increment");

describe("useListener", () => {
  it("tracks pending, then the server's update", async () => {
    harness = await startHarness();
    const { result } = renderCounter("onIncrement");
    await waitFor(() => expect(result.current.view.isSuccess).toBe(true));
    expect(result.current.listener).toMatchObject({ isPending: false, error: undefined });
    const release = harness.app.hang("increment");
    let done: Promise<void> | undefined;
    act(() => {
      done = result.current.listener.call();
    });
    expect(result.current.listener.isPending).toBe(true);
    release();
    await act(() => done);
    expect(result.current.listener).toMatchObject({ isPending: false, error: undefined });
    await waitFor(() => expect(result.current.view.data?.value).toBe(1));
  });

  it("keeps the error until reset, and call never rejects", async () => {
    harness = await startHarness();
    const { result } = renderCounter("onFail");
    await waitFor(() => expect(result.current.view.isSuccess).toBe(true));
    await act(() => result.current.listener.call());
    expect(result.current.listener.error).toBeInstanceOf(LenraListenerError);
    expect(result.current.listener.error?.code).toBe(LenraErrorCode.ListenerFailed);
    act(() => result.current.listener.reset());
    expect(result.current.listener.error).toBeUndefined();
  });

  it("keeps `call` the same function across renders and listener changes", async () => {
    harness = await startHarness();
    const { result, rerender } = renderCounter("onIncrement");
    await waitFor(() => expect(result.current.view.isSuccess).toBe(true));
    const { call } = result.current.listener;
    rerender({ name: "onFail", options: {} });
    expect(result.current.listener.call).toBe(call);
    await act(() => result.current.listener.call());
    expect(result.current.listener.error?.code).toBe(LenraErrorCode.ListenerFailed);
    expect(harness.app.calls.map((c) => c.name)).toEqual(["fail"]);
  });

  it("drops a second call while one is pending (the double-click guard)", async () => {
    harness = await startHarness();
    const { result } = renderCounter("onIncrement");
    await waitFor(() => expect(result.current.view.isSuccess).toBe(true));
    const release = harness.app.hang("increment");
    let first: Promise<void> | undefined;
    let second: Promise<void> | undefined;
    act(() => {
      first = result.current.listener.call();
      second = result.current.listener.call();
    });
    await waitFor(() => expect(increments()).toHaveLength(1));
    release();
    await act(() => Promise.all([first, second]));
    await waitFor(() => expect(result.current.view.data?.value).toBe(1));
    expect(increments()).toHaveLength(1);
  });

  it("queues or runs in parallel when asked", async () => {
    harness = await startHarness();
    const queued = renderCounter("onIncrement", { concurrency: "queue" });
    await waitFor(() => expect(queued.result.current.view.isSuccess).toBe(true));
    await act(() =>
      Promise.all([queued.result.current.listener.call(), queued.result.current.listener.call()]),
    );
    await waitFor(() => expect(queued.result.current.view.data?.value).toBe(2));
    const parallel = renderCounter("onIncrement", { concurrency: "parallel" });
    await waitFor(() => expect(parallel.result.current.view.isSuccess).toBe(true));
    await act(() =>
      Promise.all([
        parallel.result.current.listener.call(),
        parallel.result.current.listener.call(),
      ]),
    );
    await waitFor(() => expect(parallel.result.current.view.data?.value).toBe(4));
    expect(increments()).toHaveLength(4);
  });

  it("shows an optimistic update at once, then the server's document", async () => {
    harness = await startHarness();
    const { result } = renderCounter("onIncrement", { optimistic: TO_TEN });
    await waitFor(() => expect(result.current.view.data?.value).toBe(0));
    const release = harness.app.hang("increment");
    let done: Promise<void> | undefined;
    act(() => {
      done = result.current.listener.call();
    });
    expect(result.current.view.data?.value).toBe(10);
    release();
    await act(() => done);
    await waitFor(() => expect(result.current.view.data?.value).toBe(1));
    expect(result.current.listener.isPending).toBe(false);
  });

  it("rolls an optimistic update back when the call fails", async () => {
    harness = await startHarness();
    const { result } = renderCounter("onFail", { optimistic: () => TO_TEN });
    await waitFor(() => expect(result.current.view.data?.value).toBe(0));
    let done: Promise<void> | undefined;
    act(() => {
      done = result.current.listener.call();
    });
    expect(result.current.view.data?.value).toBe(10);
    await act(() => done);
    expect(result.current.listener.error?.code).toBe(LenraErrorCode.ListenerFailed);
    expect(result.current.view.data?.value).toBe(0);
  });
});
