import { DataStore } from "../data/store.ts";
import type {
  BackendSession,
  ConnectionRefusal,
  ConnectRequest,
  LenraBackend,
  SessionIdentity,
  SessionInfo,
} from "../lenra/backend.ts";
import { ErrorReason } from "../lenra/errors.ts";
import { LenraPlatform, socketToken } from "../lenra/platform.ts";
import { refuseConnection } from "../protocol/connect.ts";
import { isPlainObject } from "../shared/json.ts";
import {
  InProcessApp,
  type ListenerCall,
  type TestListener,
  type TestRoute,
} from "./in-process-app.ts";

/**
 * Options of {@link createTestApp}.
 *
 * @example
 * ```ts
 * const options: TestAppOptions<{ count: number }> = {
 *   state: { count: 0 },
 *   routes: { "/counter": { roles: ["guest"], view: (state) => ({ value: state.count }) } },
 * };
 * ```
 */
export interface TestAppOptions<S> {
  /** The initial state, shared by every session. */
  state: S;
  /** Routes by path pattern (`/counter`, `/items/:id`), tried in order. */
  routes: Record<string, TestRoute<S>>;
  /** Listeners by name. */
  listeners?: Record<string, TestListener<S>>;
  /**
   * Replaces the default, test-only authentication (see {@link insecureTestToken}): no
   * `token` param is a guest, `token=user:<id>` is that user, anything else is refused.
   */
  authenticate?: (
    request: ConnectRequest,
  ) => SessionIdentity | ConnectionRefusal | Promise<SessionIdentity | ConnectionRefusal>;
}

/**
 * Counters of a test app.
 *
 * @example
 * ```ts
 * expect(app.stats()).toMatchObject({ sessions: 1, routes: { "/counter": 1 } });
 * ```
 */
export interface TestAppStats {
  /** Open sessions (one per connected socket). */
  sessions: number;
  /** Open routes over all sessions. */
  openRoutes: number;
  /** Open routes per path. */
  routes: Record<string, number>;
  /** Views rendered since the app was created. */
  renders: number;
  /** Listener codes the sessions hold, over all sessions: what their routes show. */
  listenerCodes: number;
}

/**
 * An in-process Lenra app for tests, usable as the backend of `startProtocolServer`, with the
 * controls a test drives it with.
 *
 * @example
 * ```ts
 * const release = app.hang("increment"); // calls of "increment" wait…
 * await app.update((state) => void (state.count = 5)); // every open route renders again
 * release(); // …and run now
 * ```
 */
export interface TestApp<S> extends LenraBackend {
  /** The current state. */
  readonly state: S;
  /** Changes the state (mutate it or call `setState`), then re-renders every open route. */
  update(change: (state: S) => void | Promise<void>): Promise<void>;
  /** Replaces the state, then re-renders every open route. */
  setState(next: S): Promise<void>;
  /** Re-renders every open route of every session; resolves once the results were delivered. */
  rerender(): Promise<void>;
  /**
   * Makes calls of the listener `name` hang before it runs, so no reply ever comes, until the
   * returned function is called (the held calls then run). A session runs one call at a time,
   * as on Lenra: its later calls wait behind a held one.
   */
  hang(name: string): () => void;
  /** Refuses connections with this token from now on (answered with HTTP 403). */
  revokeToken(token: string): void;
  /** Every listener call, oldest first. */
  readonly calls: readonly ListenerCall[];
  stats(): TestAppStats;
}

/**
 * Creates an in-process Lenra app for tests, usable as the `backend` of `startProtocolServer`:
 * views are functions of one shared state, listeners change it, and after each listener (or
 * `update`) every open route renders again and its sessions get a `patchUi`. The app is served
 * by the same platform as a real app on the dev server, so it behaves as Lenra does (a guest
 * names the app, a view that fails on its first render refuses the join, sessions share
 * renders, one listener call at a time per session); only its own failures are spelled
 * `view_error`, `listener_error` and `listener_not_found` rather than Lenra's `error_500`.
 *
 * @example
 * ```ts
 * import { createTestApp, insecureTestToken, listener } from "@lenra/devserver/testing";
 * import { startProtocolServer } from "@lenra/devserver/protocol";
 *
 * const app = createTestApp({
 *   state: { count: 0 },
 *   routes: {
 *     "/counter": {
 *       roles: ["guest", "user"],
 *       view: (state) => ({ value: state.count, onIncrement: listener("increment") }),
 *     },
 *   },
 *   listeners: { increment: (state) => void state.count++ },
 * });
 * const server = await startProtocolServer({ backend: app });
 * // Connect with `token: insecureTestToken("alice")` to be alice; then, from the test:
 * await app.update((state) => void (state.count = 10)); // every /counter client gets a patchUi
 * ```
 */
export function createTestApp<S>(options: TestAppOptions<S>): TestApp<S> {
  if (!options || !isPlainObject(options.routes)) {
    throw new TypeError("createTestApp(options): `options.routes` must be an object.");
  }
  return new InProcessTestApp(options);
}

class InProcessTestApp<S> implements TestApp<S> {
  #state: S;
  readonly #app: InProcessApp<S>;
  readonly #platform: LenraPlatform;
  readonly #authenticate: TestAppOptions<S>["authenticate"];
  readonly #revoked = new Set<string>();

  constructor(options: TestAppOptions<S>) {
    this.#state = options.state;
    this.#authenticate = options.authenticate;
    const holder = this;
    this.#app = new InProcessApp(
      {
        get state() {
          return holder.#state;
        },
        replaceState: (next) => {
          this.#state = next;
        },
      },
      options.routes,
      options.listeners ?? {},
    );
    this.#platform = new LenraPlatform({
      app: this.#app,
      // Remembers the users who joined, as the dev server's data file does.
      store: new DataStore(),
      insecureTestTokens: true,
    });
  }

  get state(): S {
    return this.#state;
  }

  get calls(): readonly ListenerCall[] {
    return this.#app.calls.slice();
  }

  authenticate(
    request: ConnectRequest,
  ): SessionIdentity | ConnectionRefusal | Promise<SessionIdentity | ConnectionRefusal> {
    if (this.#authenticate) return this.#authenticate(request);
    const token = socketToken(request);
    if (token !== undefined && this.#revoked.has(token)) {
      return refuseConnection(ErrorReason.InvalidToken);
    }
    return this.#platform.authenticate(request);
  }

  openSession(info: SessionInfo): Promise<BackendSession> {
    return this.#platform.openSession(info);
  }

  async update(change: (state: S) => void | Promise<void>): Promise<void> {
    await change(this.#state);
    await this.rerender();
  }

  async setState(next: S): Promise<void> {
    this.#state = next;
    await this.rerender();
  }

  rerender(): Promise<void> {
    this.#app.changed();
    return this.#platform.settled();
  }

  hang(name: string): () => void {
    return this.#app.hang(name);
  }

  revokeToken(token: string): void {
    this.#revoked.add(token);
  }

  stats(): TestAppStats {
    const { sessions, openRoutes, routes, listenerCodes } = this.#platform.stats();
    return { sessions, openRoutes, routes, renders: this.#app.renders, listenerCodes };
  }
}
