import { type AuthHarness, startAuthHarness } from "@lenra/test-utils/auth";
import { type CounterView, type Harness, type Item, startHarness } from "@lenra/test-utils/server";
import { act, cleanup, render, screen } from "@testing-library/react";
import { Component, type ReactNode, Suspense } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  Authenticated,
  LenraErrorCode,
  LenraProvider,
  useSuspenseLenraView,
} from "../src/index.ts";

let harness: Harness | AuthHarness | undefined;

afterEach(async () => {
  cleanup();
  vi.restoreAllMocks();
  await harness?.close();
  harness = undefined;
});

/** What the boundaries and fallbacks below rendered, in order. */
let shown: string[] = [];

/**
 * An error boundary with a "retry" button, as apps write them: its reset calls `onReset` (here
 * the view's `retry()`) and renders the children again.
 */
class Boundary extends Component<
  { children: ReactNode; onReset?: () => void },
  { error: unknown }
> {
  override state = { error: undefined as unknown };
  static getDerivedStateFromError(error: unknown) {
    return { error };
  }
  override render() {
    const { error } = this.state;
    if (error === undefined) return this.props.children;
    const { code, reason } = error as { code?: string; reason?: string };
    const text = `caught: ${code} ${reason}`;
    if (shown.at(-1) !== text) shown.push(text);
    return (
      <>
        <p>{text}</p>
        <button
          type="button"
          onClick={() => {
            this.props.onReset?.();
            this.setState({ error: undefined });
          }}
        >
          retry
        </button>
      </>
    );
  }
}

function Fallback() {
  if (shown.at(-1) !== "loading") shown.push("loading");
  return <p>loading</p>;
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

function Nine() {
  const { data } = useSuspenseLenraView<Item>("/items/i9");
  return <p>title:{data.title}</p>;
}

function Unknown() {
  useSuspenseLenraView("/no-such-route");
  return <p>joined</p>;
}

function Mine() {
  const { data } = useSuspenseLenraView<{ me: string }>("/mine");
  return <p>mine:{data.me}</p>;
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
      <LenraProvider client={harness.client({ maxJoinAttempts: 1 })}>
        <Boundary>
          <Suspense fallback={<p>loading</p>}>
            <Missing />
          </Suspense>
        </Boundary>
      </LenraProvider>,
    );
    await screen.findByText(`caught: ${LenraErrorCode.JoinRefused} view_error`);
  });

  it("waits under the fallback while a refused join is tried again; only the final refusal is thrown", async () => {
    const server = await startHarness();
    harness = server;
    shown = [];
    vi.spyOn(console, "error").mockImplementation(() => {});
    const refusals = () =>
      server.server.events.filter((e) => e.type === "join" && e.topic === "route:/no-such-route")
        .length;
    render(
      <LenraProvider client={server.client({ maxJoinAttempts: 3 })}>
        <Boundary>
          <Suspense fallback={<Fallback />}>
            <Unknown />
          </Suspense>
        </Boundary>
      </LenraProvider>,
    );
    // Phoenix joins again after 0.5 s, then 1 s.
    const caught = `caught: ${LenraErrorCode.JoinRefused} route_does_not_exist`;
    await screen.findByText(caught, {}, { timeout: 10_000 });
    expect(refusals()).toBe(3);
    expect(shown).toEqual(["loading", caught]);
  });

  it("gets a fresh attempt from a boundary reset that calls view.retry(), then the data once the route works", async () => {
    const server = await startHarness();
    harness = server;
    shown = [];
    vi.spyOn(console, "error").mockImplementation(() => {});
    // One attempt per retry: the failing view would fail each time.
    const client = server.client({ maxJoinAttempts: 1 });
    render(
      <LenraProvider client={client}>
        <Boundary onReset={() => client.view("/items/i9").retry()}>
          <Suspense fallback={<Fallback />}>
            <Nine />
          </Suspense>
        </Boundary>
      </LenraProvider>,
    );
    const caught = `caught: ${LenraErrorCode.JoinRefused} view_error`;
    await screen.findByText(caught);
    const joins = server.joinAttempts("route:/items/i9");

    // Still failing: the reset waits for a new attempt instead of showing the old error again.
    act(() => screen.getByText("retry").click());
    await screen.findByText(caught);
    expect(shown).toEqual(["loading", caught, "loading", caught]);
    expect(server.joinAttempts("route:/items/i9")).toBe(joins + 1);

    await server.app.update((state) => {
      state.items.push({ id: "i9", title: "Nine" });
    });
    act(() => screen.getByText("retry").click());
    await screen.findByText("title:Nine");
  });

  it("shows a user-only view that appears with the login, never an error on the way", async () => {
    const auth = await startAuthHarness();
    harness = auth;
    shown = [];
    // One refusal would be thrown at once.
    const client = auth.client({ maxJoinAttempts: 1 });
    render(
      <LenraProvider client={client}>
        <Authenticated>
          <Boundary>
            <Suspense fallback={<Fallback />}>
              <Mine />
            </Suspense>
          </Boundary>
        </Authenticated>
      </LenraProvider>,
    );
    await act(() => client.auth.getAccessToken());
    const url = await auth.callbackUrl(client, "alice");
    await act(() => client.auth.handleRedirectCallback(url));
    await screen.findByText("mine:alice");
    expect(shown).toEqual(["loading"]);
  });
});
