/**
 * Property-based fuzz of the patch engine and of a view, 10,000 sequences each per run. In CI
 * (`CI=true`) the seed is fixed, so a run is reproducible; elsewhere each run draws a new seed and
 * prints it: `FUZZ_SEED=<seed> pnpm test:resilience` replays it.
 */
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Connection, ConnectionState } from "../src/connection.ts";
import { LenraPatchError } from "../src/errors.ts";
import { createHydrator } from "../src/listener.ts";
import { applyPatch, type JsonPatchOperation } from "../src/patch.ts";
import { createStore } from "../src/store.ts";
import { createRouteView } from "../src/view.ts";
import { deepFreeze, drawPatch, jsonArb } from "../test/support/arbitraries.ts";
import { assertSameJson, clone, referenceApply } from "../test/support/reference-patch.ts";

const RUNS = 10_000;
const seed =
  process.env.FUZZ_SEED !== undefined
    ? Number(process.env.FUZZ_SEED)
    : process.env.CI === "true"
      ? 20_251_207
      : Math.floor(Math.random() * 2 ** 31);

type Outcome = { ok: true; doc: unknown } | { ok: false; index: number; failure: string };

function outcome(run: () => unknown): Outcome {
  try {
    return { ok: true, doc: run() };
  } catch (error) {
    if (!(error instanceof LenraPatchError)) throw error;
    return { ok: false, index: error.index, failure: error.failure };
  }
}

/** What a view shows, as the server's JSON (listener functions give their object back). */
const asJson = (value: unknown) =>
  value === undefined ? undefined : JSON.parse(JSON.stringify(value));

/** A document and patches drawn one after the other, each against the document the last left. */
const sequenceArb = (mode: "plain" | "listeners") =>
  fc.tuple(jsonArb(mode), fc.gen()).map(([doc, g]) => {
    const patches: unknown[][] = [];
    let current = doc;
    const count = g(fc.integer, { min: 1, max: 6 });
    for (let i = 0; i < count; i++) {
      const patch = drawPatch(g, current, mode, (d, op) => referenceApply(d, [op]));
      patches.push(patch);
      const result = referenceApply(current, patch);
      if (result.ok) current = result.doc;
    }
    return { doc, patches };
  });

describe(`fuzz (seed ${seed}, ${RUNS} sequences per property)`, () => {
  it("patch engine: every sequence gives the reference's documents or failures, inputs and earlier documents untouched", () => {
    let sequences = 0;
    let applied = 0;
    let refused = 0;
    fc.assert(
      fc.property(sequenceArb("listeners"), ({ doc, patches }) => {
        sequences++;
        const hydrator = createHydrator(async () => {});
        let json: unknown = clone(doc);
        let plain: unknown = deepFreeze(clone(doc));
        let live: unknown = deepFreeze(hydrator.replace(deepFreeze(clone(doc))));
        const published: [unknown, string][] = [[live, JSON.stringify(live)]];
        for (const patch of patches) {
          const expected = referenceApply(json, patch);
          const frozenPatch = deepFreeze(clone(patch)) as JsonPatchOperation[];
          const byEngine = outcome(() => applyPatch(plain, frozenPatch));
          const byHydrator = outcome(() => hydrator.patch(live, frozenPatch));
          if (!expected.ok) {
            refused++;
            expect(byEngine).toStrictEqual(expected);
            expect(byHydrator).toStrictEqual(expected);
            continue;
          }
          applied++;
          expect(byEngine.ok && byHydrator.ok).toBe(true);
          if (!byEngine.ok || !byHydrator.ok) return;
          assertSameJson(byEngine.doc, expected.doc);
          assertSameJson(asJson(byHydrator.doc), asJson(expected.doc));
          json = expected.doc;
          plain = deepFreeze(byEngine.doc);
          live = deepFreeze(byHydrator.doc);
          published.push([live, JSON.stringify(live)]);
        }
        for (const [document, text] of published) expect(JSON.stringify(document)).toBe(text);
      }),
      { numRuns: RUNS, seed },
    );
    expect(sequences).toBeGreaterThanOrEqual(RUNS);
    // Both outcomes must be exercised, or the comparison proves little.
    expect(applied).toBeGreaterThan(RUNS / 2);
    expect(refused).toBeGreaterThan(RUNS / 10);
    console.log(
      `patch engine: ${sequences} sequences, ${applied} patches applied, ${refused} refused`,
    );
  });

  describe("view", () => {
    beforeEach(() => {
      vi.useFakeTimers();
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    it("shows the server's document after every event it can apply, stale and resyncing after any other, never throwing nor mutating what it published", () => {
      let sequences = 0;
      let resyncs = 0;
      const eventArb = (doc: unknown) =>
        fc.oneof(
          {
            weight: 6,
            arbitrary: fc.gen().map((g) => ({
              kind: "patch" as const,
              patch: drawPatch(g, doc, "listeners", (d, op) => referenceApply(d, [op])),
            })),
          },
          {
            weight: 1,
            arbitrary: jsonArb("listeners").map((next) => ({ kind: "ui" as const, doc: next })),
          },
          { weight: 1, arbitrary: fc.constant({ kind: "route-error" as const }) },
          { weight: 1, arbitrary: fc.constant({ kind: "channel-error" as const }) },
          {
            weight: 1,
            arbitrary: fc
              .constantFrom<"mine" | "other" | "unknown">("mine", "other", "unknown")
              .map((topic) => ({ kind: "dropped-frame" as const, topic })),
          },
          { weight: 1, arbitrary: fc.constant({ kind: "socket-drop" as const }) },
        );
      const scenarioArb = fc.tuple(jsonArb("listeners"), fc.gen()).map(([doc, g]) => {
        const events: unknown[] = [];
        let current = doc;
        const count = g(fc.integer, { min: 1, max: 12 });
        for (let i = 0; i < count; i++) {
          const event = g(() => eventArb(current)) as {
            kind: string;
            patch?: unknown[];
            doc?: unknown;
          };
          events.push(event);
          if (event.kind === "patch") {
            const result = referenceApply(current, event.patch);
            if (result.ok) current = result.doc;
          } else if (event.kind === "ui") current = event.doc;
        }
        return { doc, events };
      });

      fc.assert(
        fc.property(scenarioArb, ({ doc, events }) => {
          sequences++;
          const server = new FakeServer(clone(doc));
          const view = createRouteView("/fuzz", server.context());
          const published = new Map<unknown, string>();
          view.subscribe(() => {
            const { data } = view.getSnapshot();
            if (!published.has(data)) published.set(data, JSON.stringify(data));
          });
          const settle = () => {
            // Resyncs wait a timer; the server answers each join with the whole document.
            for (let i = 0; i < 5; i++) {
              vi.runOnlyPendingTimers();
              server.answerJoins();
            }
          };
          settle();
          const expectInSync = () => {
            const state = view.getSnapshot();
            expect(state.isStale).toBe(false);
            expect(state.status).toBe("success");
            assertSameJson(asJson(state.data), asJson(server.doc));
          };
          expectInSync();
          for (const raw of events) {
            const event = raw as { kind: string; patch?: unknown[]; doc?: unknown; topic?: string };
            const before = view.getSnapshot();
            switch (event.kind) {
              case "patch": {
                const result = referenceApply(server.doc, event.patch);
                server.emit("patchUi", { patch: clone(event.patch) });
                if (result.ok) {
                  server.doc = result.doc;
                  expectInSync();
                } else {
                  // Nothing of a failed patch shows; the view asks for the whole document again.
                  resyncs++;
                  expect(view.getSnapshot()).toMatchObject({ isStale: true, data: before.data });
                  settle();
                  expectInSync();
                }
                break;
              }
              case "ui":
                server.doc = clone(event.doc);
                server.emit("ui", clone(event.doc));
                expectInSync();
                break;
              case "route-error":
                server.emit("error", {
                  message: "boom",
                  reason: "error_500",
                  metadata: "it broke",
                });
                expect(view.getSnapshot()).toMatchObject({
                  data: before.data,
                  error: { reason: "error_500" },
                });
                break;
              case "channel-error":
                server.channelError();
                expect(view.getSnapshot()).toMatchObject({ isStale: true, data: before.data });
                // Phoenix rejoins the same channel: the server sends the document again.
                server.emitOnRejoin();
                expect(view.getSnapshot().isStale).toBe(false);
                assertSameJson(asJson(view.getSnapshot().data), asJson(server.doc));
                break;
              case "dropped-frame":
                server.dropFrame(event.topic as "mine" | "other" | "unknown");
                if (event.topic !== "other") {
                  resyncs++;
                  expect(view.getSnapshot()).toMatchObject({ isStale: true, data: before.data });
                }
                settle();
                expectInSync();
                break;
              case "socket-drop":
                server.setStatus("reconnecting");
                expect(view.getSnapshot()).toMatchObject({ isStale: true, data: before.data });
                server.setStatus("open");
                server.emitOnRejoin();
                settle();
                expectInSync();
                break;
            }
          }
          for (const [data, text] of published) expect(JSON.stringify(data)).toBe(text);
          view.dispose(
            new LenraPatchError({
              failure: "invalid_patch",
              index: -1,
              operation: undefined,
              message: "disposed",
            }),
          );
        }),
        { numRuns: RUNS, seed },
      );
      expect(sequences).toBeGreaterThanOrEqual(RUNS);
      expect(resyncs).toBeGreaterThan(RUNS / 10);
      console.log(`view: ${sequences} sequences, ${resyncs} resyncs`);
    });
  });
});

type Hook = { status: string; callback: (response?: unknown) => void };

/** A receive chain like phoenix's `Push`. */
function chain(hooks: Hook[]) {
  const push = {
    receive(status: string, callback: (response?: unknown) => void) {
      hooks.push({ status, callback });
      return push;
    },
  };
  return push;
}

/** A route channel as the view uses it, driven by {@link FakeServer}. */
class FakeChannel {
  readonly bindings = new Map<string, ((payload: unknown) => void)[]>();
  readonly joinHooks: Hook[] = [];
  joined = false;
  left = false;

  constructor(readonly topic: string) {}

  on(event: string, callback: (payload: unknown) => void) {
    this.bindings.set(event, [...(this.bindings.get(event) ?? []), callback]);
  }
  onError(callback: () => void) {
    this.on("phx_error", callback);
  }
  onClose(callback: () => void) {
    this.on("phx_close", callback);
  }
  join() {
    return chain(this.joinHooks);
  }
  push() {
    return chain([]);
  }
  leave() {
    this.left = true;
  }
  trigger(event: string, payload?: unknown) {
    for (const callback of this.bindings.get(event) ?? []) callback(payload);
  }
}

/** A server and a connection for one view: the view's channels, its document, its socket status. */
class FakeServer {
  readonly channels: FakeChannel[] = [];
  readonly state = createStore<ConnectionState>({
    status: "open",
    attempt: 0,
    nextRetryAt: undefined,
  });
  readonly dropListeners = new Set<(topic: string | undefined) => void>();

  constructor(public doc: unknown) {}

  context() {
    const connection = {
      channel: (topic: string) => {
        const channel = new FakeChannel(topic);
        this.channels.push(channel);
        return channel;
      },
      state: this.state,
      onFrameDropped: (listener: (topic: string | undefined) => void) => {
        this.dropListeners.add(listener);
        return () => this.dropListeners.delete(listener);
      },
    } as unknown as Connection;
    return {
      connection,
      log: {},
      ensureConnected() {},
      assertAlive() {},
      lingerMs: 0,
      listenerTimeoutMs: 1000,
      joinTimeoutMs: 1000,
      maxJoinAttempts: 3,
    };
  }

  get current(): FakeChannel {
    const channel = this.channels.at(-1);
    if (!channel || channel.left) throw new Error("the view has no channel joined");
    return channel;
  }

  /** Answers every join not answered yet: `ok`, then the whole document. */
  answerJoins() {
    for (const channel of this.channels) {
      if (channel.joined || channel.left) continue;
      channel.joined = true;
      for (const hook of channel.joinHooks) if (hook.status === "ok") hook.callback({});
      channel.trigger("ui", clone(this.doc));
    }
  }

  emit(event: string, payload: unknown) {
    this.current.trigger(event, payload);
  }

  emitOnRejoin() {
    this.current.trigger("ui", clone(this.doc));
  }

  channelError() {
    this.current.trigger("phx_error");
  }

  dropFrame(topic: "mine" | "other" | "unknown") {
    const name =
      topic === "mine" ? this.current.topic : topic === "other" ? "route:/other" : undefined;
    for (const listener of [...this.dropListeners]) listener(name);
  }

  setStatus(status: ConnectionState["status"]) {
    this.state.set({ status, attempt: 0, nextRetryAt: undefined });
  }
}
