import { LenraError, LenraListenerError } from "./errors.ts";
import { callListener, type Listener } from "./listener.ts";
import type { JsonPatchOperation } from "./patch.ts";
import { createStore, type ReadableStore } from "./store.ts";

/**
 * What a second call does while one is pending: `drop` it (the default: a double click runs the
 * listener once), `queue` it after the pending one, or run both in `parallel`.
 */
export type ListenerConcurrency = "drop" | "queue" | "parallel";

/** The options of a {@link ListenerCaller} (and of the adapters' `useListener`). */
export interface ListenerCallOptions<E> {
  /**
   * What a second call does while one is pending. Defaults to `drop`.
   *
   * @example `concurrency: "queue"`
   */
  concurrency?: ListenerConcurrency;
  /**
   * JSON Patch operations to apply on top of the view while the call runs: shown at once,
   * replaced by the server's next update, rolled back if the call fails. A function receives
   * the call's event.
   *
   * @example `optimistic: [{ op: "replace", path: "/value", value: count + 1 }]`
   * @see https://www.rfc-editor.org/rfc/rfc6902
   */
  optimistic?:
    | readonly JsonPatchOperation[]
    | ((event: E | undefined) => readonly JsonPatchOperation[]);
}

/** What a {@link ListenerCaller}'s `getSnapshot()` returns. */
export interface ListenerCallState {
  /** A call is running. */
  readonly isPending: boolean;
  /** The last call's error, until the next call or `reset()`. */
  readonly error: LenraError | undefined;
}

const IDLE: ListenerCallState = Object.freeze({ isPending: false, error: undefined });

/**
 * Calls one listener for a UI element, tracking pending and error states. `call` is a stable
 * function that never rejects (errors land in the state), so it can be an event handler as is.
 * The listener may change (a new code after a patch); the latest one set is called. The logic
 * behind the adapters' `useListener`.
 *
 * @example
 * ```ts
 * const caller = new ListenerCaller(data.onIncrement, { concurrency: "drop" });
 * button.onclick = caller.call;
 * caller.subscribe(() => (button.disabled = caller.getSnapshot().isPending));
 * ```
 * @see PROTOCOL.md section 4
 */
export class ListenerCaller<E = unknown> implements ReadableStore<ListenerCallState> {
  readonly #store = createStore<ListenerCallState>(IDLE);
  readonly subscribe = this.#store.subscribe;
  readonly getSnapshot = this.#store.getSnapshot;
  #listener: Listener<E> | undefined;
  #options: ListenerCallOptions<E>;
  #running = 0;
  #last: Promise<void> = Promise.resolve();

  constructor(listener: Listener<E> | undefined, options: ListenerCallOptions<E> = {}) {
    this.#listener = listener;
    this.#options = options;
  }

  /**
   * Sets the listener and options the next call uses. No side effect.
   *
   * @example
   * ```ts
   * caller.setListener(view.getSnapshot().data?.onIncrement);
   * ```
   */
  setListener(listener: Listener<E> | undefined, options: ListenerCallOptions<E> = {}): void {
    this.#listener = listener;
    this.#options = options;
  }

  /**
   * Calls the listener with `event`; resolves when the call settled, never rejects.
   *
   * @example
   * ```ts
   * await caller.call({ amount: 2 });
   * if (caller.getSnapshot().error) showError(caller.getSnapshot().error);
   * ```
   */
  readonly call = (event?: E): Promise<void> => {
    const concurrency = this.#options.concurrency ?? "drop";
    if (this.#running > 0 && concurrency === "drop") return this.#last;
    const run =
      concurrency === "queue" ? this.#last.then(() => this.#run(event)) : this.#run(event);
    this.#last = run;
    return run;
  };

  /**
   * Clears the last error.
   *
   * @example
   * ```ts
   * dismissButton.onclick = caller.reset;
   * ```
   */
  readonly reset = (): void => {
    this.#store.update({ error: undefined });
  };

  async #run(event: E | undefined): Promise<void> {
    const listener = this.#listener;
    this.#running += 1;
    this.#store.update({ isPending: true, error: undefined });
    try {
      if (!listener) {
        throw new LenraListenerError({
          route: "",
          reason: "no_listener",
          message: "There is no listener to call yet: the view has not loaded it.",
        });
      }
      const { optimistic } = this.#options;
      const operations = typeof optimistic === "function" ? optimistic(event) : optimistic;
      await callListener(listener, event, operations ? { optimistic: operations } : {});
      this.#running -= 1;
      this.#store.update({ isPending: this.#running > 0 });
    } catch (error) {
      this.#running -= 1;
      const lenraError =
        error instanceof LenraError
          ? error
          : new LenraListenerError({
              route: "",
              reason: "unknown",
              message: error instanceof Error ? error.message : String(error),
              cause: error,
            });
      this.#store.update({ isPending: this.#running > 0, error: lenraError });
    }
  }
}
