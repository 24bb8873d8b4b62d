import {
  type CounterView,
  type Harness,
  type Item,
  type ListView,
  sleep,
  startHarness,
} from "@lenra/test-utils/server";
import { act, cleanup, render, renderHook, screen, waitFor } from "@testing-library/react";
import { StrictMode } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  isListener,
  LenraProvider,
  SKIP,
  useLenraClient,
  useLenraConnection,
  useLenraView,
} from "../src/index.ts";
import { wrapper } from "./support/render.tsx";

let harness: Harness;

afterEach(async () => {
  cleanup();
  await harness?.close();
});

function Counter({ path = "/counter" }: { path?: string }) {
  const { data, status } = useLenraView<CounterView>(path);
  return (
    <p>
      {status}:{data?.value ?? "-"}
    </p>
  );
}

/** Renders of each `Title`, by index. */
let renders: number[] = [];

function Title({ index }: { index: number }) {
  const { data } = useLenraView<ListView, string | undefined>("/list", {
    select: (view) => view.items[index]?.title,
  });
  renders[index] = (renders[index] ?? 0) + 1;
  return <li>{data ?? "…"}</li>;
}

describe("useLenraView over a real socket", () => {
  it("shows pending, then the data with listener functions", async () => {
    harness = await startHarness();
    const client = harness.client();
    const { result } = renderHook(() => useLenraView<CounterView>("/counter"), {
      wrapper: wrapper(client),
    });
    expect(result.current).toMatchObject({ status: "pending", isPending: true, data: undefined });
    await waitFor(() => expect(result.current.status).toBe("success"));
    expect(result.current).toMatchObject({ isSuccess: true, isStale: false, isError: false });
    expect(result.current.data?.value).toBe(0);
    expect(isListener(result.current.data?.onIncrement)).toBe(true);
  });

  it("re-renders on each patch and keeps unchanged listeners identical", async () => {
    harness = await startHarness();
    const { result } = renderHook(() => useLenraView<CounterView>("/counter"), {
      wrapper: wrapper(harness.client()),
    });
    await waitFor(() => expect(result.current.data?.value).toBe(0));
    const first = result.current.data;
    await harness.app.update((state) => {
      state.count = 7;
    });
    await waitFor(() => expect(result.current.data?.value).toBe(7));
    expect(result.current.data?.onIncrement).toBe(first?.onIncrement);
  });

  it("shares one join between two components on one path", async () => {
    harness = await startHarness();
    render(
      <LenraProvider client={harness.client()}>
        <Counter />
        <Counter />
      </LenraProvider>,
    );
    await waitFor(() => expect(screen.getAllByText("success:0")).toHaveLength(2));
    await sleep(100);
    expect(harness.joins("route:/counter")).toBe(1);
    expect(harness.server.stats().channels["route:/counter"]).toBe(1);
  });

  it("subscribes to nothing with SKIP, then joins when given a path", async () => {
    harness = await startHarness();
    const client = harness.client();
    const { result, rerender } = renderHook(({ path }) => useLenraView<CounterView>(path), {
      wrapper: wrapper(client),
      initialProps: { path: SKIP as string | typeof SKIP },
    });
    await sleep(100);
    expect(result.current).toMatchObject({ status: "pending", data: undefined });
    expect(client.connection.getSnapshot().status).toBe("idle");
    expect(harness.server.events.filter((e) => e.type === "join")).toHaveLength(0);
    rerender({ path: "/counter" });
    await waitFor(() => expect(result.current.data?.value).toBe(0));
  });

  it("switches the subscription when the path changes, pending in between", async () => {
    harness = await startHarness();
    const client = harness.client({ lingerMs: 50 });
    const seen: string[] = [];
    const { result, rerender } = renderHook(
      ({ id }) => {
        const view = useLenraView<Item>(`/items/${id}`);
        seen.push(`${view.status}:${view.data?.title ?? "-"}`);
        return view;
      },
      { wrapper: wrapper(client), initialProps: { id: "i0" } },
    );
    await waitFor(() => expect(result.current.data?.title).toBe("Item 0"));
    rerender({ id: "i1" });
    expect(result.current).toMatchObject({ status: "pending", data: undefined });
    await waitFor(() => expect(result.current.data?.title).toBe("Item 1"));
    expect(seen).toContain("pending:-");
    expect(seen.at(-1)).toBe("success:Item 1");
    expect(seen.indexOf("success:Item 0")).toBeLessThan(seen.lastIndexOf("pending:-"));
    await waitFor(() => expect(harness.leaves("route:/items/i0")).toBe(1));
    expect(harness.leaves("route:/items/i1")).toBe(0);
  });

  it("keeps the previous path's data, flagged, while the next one loads", async () => {
    harness = await startHarness();
    const seen: string[] = [];
    const { result, rerender } = renderHook(
      ({ id }) => {
        const view = useLenraView<Item>(`/items/${id}`, { keepPreviousData: true });
        seen.push(`${view.status}:${view.data?.title ?? "-"}:${view.isPreviousData}`);
        return view;
      },
      { wrapper: wrapper(harness.client()), initialProps: { id: "i0" } },
    );
    await waitFor(() => expect(result.current.data?.title).toBe("Item 0"));
    seen.length = 0;
    rerender({ id: "i1" });
    expect(result.current).toMatchObject({
      status: "success",
      isPreviousData: true,
      data: { title: "Item 0" },
    });
    await waitFor(() => expect(result.current.data?.title).toBe("Item 1"));
    expect(result.current.isPreviousData).toBe(false);
    expect(seen).not.toContain("pending:-:false");
    expect(seen[0]).toBe("success:Item 0:true");
  });

  it("re-renders only the components whose selected slice changed", async () => {
    harness = await startHarness(3);
    renders = [0, 0, 0];
    render(
      <LenraProvider client={harness.client()}>
        <Title index={0} />
        <Title index={1} />
        <Title index={2} />
      </LenraProvider>,
    );
    await screen.findByText("Item 2");
    const before = [...renders];
    await harness.app.update((state) => {
      const item = state.items[1];
      if (item) item.title = "Renamed";
    });
    await screen.findByText("Renamed");
    await sleep(50);
    expect(renders[1]).toBe((before[1] ?? 0) + 1);
    expect(renders[0]).toBe(before[0]);
    expect(renders[2]).toBe(before[2]);
  });

  it("joins once and never leaves through StrictMode's mount, unmount and mount", async () => {
    harness = await startHarness();
    const client = harness.client({ lingerMs: 200 });
    const subscribe = vi.spyOn(client.view("/counter"), "subscribe");
    const { unmount } = render(
      <StrictMode>
        <LenraProvider client={client}>
          <Counter />
        </LenraProvider>
      </StrictMode>,
    );
    await screen.findByText("success:0");
    // StrictMode did subscribe, unsubscribe and subscribe again.
    expect(subscribe.mock.calls.length).toBeGreaterThanOrEqual(2);
    await sleep(400);
    expect(harness.joins("route:/counter")).toBe(1);
    expect(harness.leaves("route:/counter")).toBe(0);
    unmount();
    await sleep(50);
    expect(harness.leaves("route:/counter")).toBe(0);
    await harness.server.until(() => harness.leaves("route:/counter") === 1);
  });

  it("shows the connection's status", async () => {
    harness = await startHarness();
    const client = harness.client();
    const { result } = renderHook(
      () => ({ connection: useLenraConnection(), view: useLenraView("/counter") }),
      { wrapper: wrapper(client) },
    );
    await waitFor(() => expect(result.current.connection.status).toBe("open"));
    await act(() => client.disconnect());
    expect(result.current.connection.status).toBe("closed");
    await waitFor(() => expect(result.current.view.isStale).toBe(true));
  });
});

describe("outside a provider", () => {
  it("throws an error saying to add the provider", () => {
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});
    expect(() => renderHook(() => useLenraClient())).toThrow(/<LenraProvider client=/);
    expect(() => renderHook(() => useLenraView("/counter"))).toThrow(/<LenraProvider/);
    spy.mockRestore();
  });
});
