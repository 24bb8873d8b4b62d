import { describe, expect, it } from "vitest";
import { EventLog } from "../src/protocol/event-log.ts";

const push = (socketId: string, topic: string) =>
  ({ type: "push", socketId, topic, event: "patchUi" }) as const;

describe("EventLog", () => {
  it("keeps the newest events in order and exact counts once it drops the oldest", () => {
    const log = new EventLog(3);
    for (let i = 1; i <= 7; i++) log.record(push(`s${i}`, i % 2 === 0 ? "route:/a" : "route:/b"));
    log.record({ type: "heartbeat", socketId: "s8" });

    expect(log.events.map((event) => [event.seq, event.type])).toEqual([
      [6, "push"],
      [7, "push"],
      [8, "heartbeat"],
    ]);
    expect(log.count("push")).toBe(7);
    expect(log.count("push", "route:/a")).toBe(3);
    expect(log.count("push", "route:/b")).toBe(4);
    expect(log.count("heartbeat")).toBe(1);
    expect(log.count("join")).toBe(0);
    expect(log.count("join", "route:/a")).toBe(0);
  });

  it("gives a copy of its events, stamped with a sequence number and a time", () => {
    const log = new EventLog();
    const before = Date.now();
    log.record(push("s1", "route:/a"));
    const events = log.events;
    log.record(push("s2", "route:/a"));

    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ seq: 1, socketId: "s1" });
    expect(events[0]?.at).toBeGreaterThanOrEqual(before);
    expect(log.events).toHaveLength(2);
  });

  it("starts over after clear, and keeps numbering", () => {
    const log = new EventLog(2);
    for (let i = 0; i < 5; i++) log.record(push("s", "route:/a"));
    log.clear();
    expect(log.events).toEqual([]);
    expect(log.count("push")).toBe(0);

    log.record(push("s", "route:/a"));
    expect(log.events.map((event) => event.seq)).toEqual([6]);
    expect(log.count("push", "route:/a")).toBe(1);
  });

  it("wakes until() as soon as an event makes its condition true", async () => {
    const log = new EventLog();
    const waiting = log.until(() => log.count("push") === 2, 1_000);
    log.record(push("s", "route:/a"));
    log.record(push("s", "route:/a"));
    await expect(waiting).resolves.toBeUndefined();
    await expect(log.until(() => false, 30)).rejects.toThrow("not met within 30 ms");
  });
});
