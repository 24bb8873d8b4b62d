import { describe, expect, it, vi } from "vitest";
import { createStore } from "../src/store.ts";

describe("createStore", () => {
  it("keeps the snapshot's identity when an update changes nothing", () => {
    const store = createStore({ a: 1, b: "x" });
    const listener = vi.fn();
    store.subscribe(listener);
    const before = store.getSnapshot();
    store.update({ a: 1 });
    store.update({});
    expect(store.getSnapshot()).toBe(before);
    expect(listener).not.toHaveBeenCalled();
  });

  it("makes a new snapshot and notifies once per change", () => {
    const store = createStore({ a: 1, b: "x" });
    const listener = vi.fn();
    store.subscribe(listener);
    const before = store.getSnapshot();
    store.update({ a: 2, b: "x" });
    expect(store.getSnapshot()).not.toBe(before);
    expect(store.getSnapshot()).toEqual({ a: 2, b: "x" });
    expect(listener).toHaveBeenCalledTimes(1);
    store.set(store.getSnapshot());
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it("runs the first/last subscriber hooks and tolerates double unsubscribe", () => {
    const onFirstSubscribe = vi.fn();
    const onLastUnsubscribe = vi.fn();
    const store = createStore({ n: 0 }, onFirstSubscribe, onLastUnsubscribe);
    const fn = () => {};
    const off1 = store.subscribe(fn);
    const off2 = store.subscribe(fn);
    expect(onFirstSubscribe).toHaveBeenCalledTimes(1);
    off1();
    off1();
    expect(onLastUnsubscribe).not.toHaveBeenCalled();
    off2();
    expect(onLastUnsubscribe).toHaveBeenCalledTimes(1);
    store.subscribe(fn);
    expect(onFirstSubscribe).toHaveBeenCalledTimes(2);
  });

  it("notifies every listener even when one unsubscribes another during the notification", () => {
    const store = createStore({ n: 0 });
    const calls: string[] = [];
    let offB = () => {};
    store.subscribe(() => {
      calls.push("a");
      offB();
    });
    offB = store.subscribe(() => calls.push("b"));
    store.update({ n: 1 });
    expect(calls).toEqual(["a", "b"]);
    store.update({ n: 2 });
    expect(calls).toEqual(["a", "b", "a"]);
  });
});
