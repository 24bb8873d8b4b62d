import { type CounterView, type Harness, type Item, startHarness } from "@lenra/test-utils/server";
import { cleanup, render, screen } from "@testing-library/react";
import { Component, type ReactNode, Suspense } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LenraErrorCode, LenraProvider, useSuspenseLenraView } from "../src/index.ts";

let harness: Harness;

afterEach(async () => {
  cleanup();
  vi.restoreAllMocks();
  await harness?.close();
});

class Boundary extends Component<{ children: ReactNode }, { error: unknown }> {
  override state = { error: undefined as unknown };
  static getDerivedStateFromError(error: unknown) {
    return { error };
  }
  override render() {
    const { error } = this.state;
    if (error === undefined) return this.props.children;
    return <p>caught: {(error as { code?: string }).code}</p>;
  }
}

let renders = 0;

function Value() {
  const { data } = useSuspenseLenraView<CounterView>("/counter");
  renders += 1;
  return <p>value:{data.value}</p>;
}

function Missing() {
  const { data } = useSuspenseLenraView<Item>("/items/missing");
  return <p>{data.title}</p>;
}

describe("useSuspenseLenraView", () => {
  it("suspends until the first data, then renders it with one join", async () => {
    harness = await startHarness();
    renders = 0;
    // React may hold a fallback for 300 ms before showing the content: the linger (2 s by
    // default) must outlast that for the view to stay joined in between.
    render(
      <LenraProvider client={harness.client({ lingerMs: 1000 })}>
        <Suspense fallback={<p>loading</p>}>
          <Value />
        </Suspense>
      </LenraProvider>,
    );
    expect(screen.getByText("loading")).toBeTruthy();
    await screen.findByText("value:0");
    expect(renders).toBeGreaterThan(0);
    await harness.app.update((state) => {
      state.count = 3;
    });
    await screen.findByText("value:3");
    expect(harness.joins("route:/counter")).toBe(1);
    expect(harness.leaves("route:/counter")).toBe(0);
  });

  it("throws the view's error to the nearest error boundary", async () => {
    harness = await startHarness();
    vi.spyOn(console, "error").mockImplementation(() => {});
    render(
      <LenraProvider client={harness.client()}>
        <Boundary>
          <Suspense fallback={<p>loading</p>}>
            <Missing />
          </Suspense>
        </Boundary>
      </LenraProvider>,
    );
    await screen.findByText(`caught: ${LenraErrorCode.RouteError}`);
  });
});
