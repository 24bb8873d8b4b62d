import { LenraArgumentError, LenraPatchError } from "./errors.ts";
import {
  applyPatchWith,
  isContainer,
  type JsonPatchOperation,
  jsonEqual,
  type PatchHooks,
  setOwn,
} from "./patch.ts";

/**
 * A listener as the Lenra server puts it anywhere in a view's JSON: an opaque `code` (a hash of
 * the listener's name and props) to send back in a `run` push, maybe with other members.
 */
export type ListenerObject = {
  readonly _type: "listener";
  readonly code: string;
  readonly [key: string]: unknown;
};

/**
 * A listener object turned into a function: calling it runs the listener on the server and
 * resolves once the server replied `ok`.
 *
 * When it is called with a DOM or React event (an `Event` instance, or an object with a
 * `nativeEvent` member), no event is sent, so `<button onClick={data.onIncrement}>` works as is;
 * any other argument is sent as the listener's event.
 */
export type Listener<E = unknown> = ((event?: E) => Promise<void>) & {
  /** The server's opaque code for this listener. */
  readonly code: string;
  /** The listener object it was made from, so `JSON.stringify` gives the server's JSON back. */
  toJSON(): ListenerObject;
};

/** `T` with every listener object in it, at any depth, turned into a {@link Listener}. */
export type Hydrated<T> = T extends { readonly _type: "listener"; readonly code: string }
  ? Listener
  : T extends (...args: never[]) => unknown
    ? T
    : T extends object
      ? { [K in keyof T]: Hydrated<T[K]> }
      : T;

/**
 * Options for one call, handed through a listener to the view that runs it (see
 * {@link callListener}).
 */
export interface ListenerRunOptions {
  /** JSON Patch operations the view shows on top of its document while the call runs. */
  readonly optimistic?: readonly JsonPatchOperation[];
}

/**
 * Runs a listener on the server: receives the listener's `code`, the event to send (`undefined`
 * when there is none) and, for calls made with {@link callListener}, their options.
 */
export type ListenerCall = (
  code: string,
  event: unknown,
  options?: ListenerRunOptions,
) => Promise<void>;

/** Turns listener objects into functions in the documents of one view. */
export interface Hydrator {
  /**
   * Hydrates a whole document (a `ui` payload). `json` is never mutated: containers holding no
   * listener are reused as they are, the others are copied. A listener whose code and object were
   * in the previous document keeps the very same function. Equal listener objects that are new
   * at several places of one document get a function each (finding them would cost a lookup per
   * listener); later frames give them all the same one.
   */
  replace(json: unknown): unknown;
  /**
   * Applies a `patchUi` patch to a document this hydrator returned and returns the new document;
   * only values new in the patch are hydrated, unchanged listeners keep their function. Throws a
   * `LenraPatchError` and leaves `doc` untouched when the patch does not apply.
   */
  patch(doc: unknown, operations: unknown): unknown;
  /** How many listener functions are cached, for tests and diagnostics. */
  readonly size: number;
}

/** The brand of listener functions, shared by every copy of this library loaded in a page. */
const LISTENER = Symbol.for("lenra.listener");

// The brand is a method of every listener function: called on the function with an event and
// options, it runs the call. `callListener` thus works on listeners made by any copy of this
// library.
type Branded = Listener & {
  [LISTENER](event: unknown, options?: ListenerRunOptions): Promise<void>;
};

/**
 * Whether `value` is a listener function made from a listener object of a view.
 *
 * @example
 * ```ts
 * const actions = Object.entries(data).filter(([, value]) => isListener(value));
 * ```
 * @see PROTOCOL.md section 4
 */
export function isListener(value: unknown): value is Listener {
  return typeof value === "function" && typeof (value as Partial<Branded>)[LISTENER] === "function";
}

/**
 * Calls a listener like calling it directly, with options for the view that runs it (for
 * example an optimistic update). DOM and React events are dropped the same way.
 *
 * @example
 * ```ts
 * await callListener(data.onIncrement, undefined, {
 *   optimistic: [{ op: "replace", path: "/value", value: data.value + 1 }],
 * });
 * ```
 * @see PROTOCOL.md section 4
 */
export function callListener<E>(
  listener: Listener<E>,
  event: E | undefined,
  options: ListenerRunOptions,
): Promise<void> {
  return isListener(listener)
    ? (listener as Branded)[LISTENER](isUiEvent(event) ? undefined : event, options)
    : Promise.reject(
        new LenraArgumentError({ message: "callListener: `listener` is not a listener function." }),
      );
}

/** Whether `value` is a listener object as the server sends it. */
export function isListenerObject(value: unknown): value is ListenerObject {
  return (
    isContainer(value) &&
    !Array.isArray(value) &&
    value._type === "listener" &&
    typeof value.code === "string" &&
    Object.hasOwn(value, "_type") &&
    Object.hasOwn(value, "code")
  );
}

function isUiEvent(event: unknown): boolean {
  if (!isContainer(event)) return false;
  const EventClass = (globalThis as { Event?: unknown }).Event;
  return (
    (typeof EventClass === "function" && event instanceof EventClass) || "nativeEvent" in event
  );
}

/**
 * Returns the object it is given instead of a new one, so that a subclass's constructor stamps
 * its private fields on that object (here, a function: `class extends Function` would compile
 * source text at run time).
 */
class Stamped {
  constructor(target: object) {
    // biome-ignore lint/correctness/noConstructorReturn: returning the target is the point.
    return target;
  }
}

/**
 * What every listener function shares, on one prototype: `code`, `toJSON` and the brand read two
 * private fields stamped on each function. Defining the same members as own properties of each
 * function costs several times more (`Object.defineProperties` is a slow runtime call), and a
 * first `ui` can hold tens of thousands of listeners (see bench/client.bench.ts).
 */
class ListenerMembers extends Stamped {
  readonly #json: ListenerObject;
  readonly #call: ListenerCall;

  constructor(listener: object, json: ListenerObject, call: ListenerCall) {
    super(listener);
    this.#json = json;
    this.#call = call;
  }

  /** The server's opaque code for this listener. */
  get code(): string {
    return this.#json.code;
  }

  /** The listener object it was made from, so `JSON.stringify` gives the server's JSON back. */
  toJSON(): ListenerObject {
    return this.#json;
  }

  // Async: a call that throws rejects instead.
  async [LISTENER](event: unknown, options?: ListenerRunOptions): Promise<void> {
    const code = this.#json.code;
    return options === undefined ? this.#call(code, event) : this.#call(code, event, options);
  }
}

// Listener functions stay functions: `call`, `apply` and `bind` come after the shared members.
Object.setPrototypeOf(ListenerMembers.prototype, Function.prototype);

function createListener(json: ListenerObject, call: ListenerCall): Listener {
  // An arrow function: not a constructor, no `prototype` member.
  const listener = (event?: unknown): Promise<void> =>
    (listener as unknown as Branded)[LISTENER](isUiEvent(event) ? undefined : event);
  new ListenerMembers(listener, json, call);
  Object.setPrototypeOf(listener, ListenerMembers.prototype);
  return listener as unknown as Listener;
}

/**
 * How deep a value from the server may nest. Far beyond any real view, far below what the
 * recursive walks here and in the app's rendering can take before the stack overflows.
 */
export const MAX_DEPTH = 1000;

/**
 * Creates the hydrator of one view. `call(code, event, options?)` runs a listener; `event` is
 * `undefined` when there is none to send. Each hydrator keeps its own `code -> function` cache,
 * rebuilt on every `replace` and compacted during long runs of patches, so it stays
 * proportional to the listeners in the document.
 */
export function createHydrator(call: ListenerCall): Hydrator {
  // The document's listeners: a list after a `replace` or a compaction, indexed by code on the
  // first lookup. Indexing costs more per listener than creating it, and a first `ui` (tens of
  // thousands of listeners, no lookup) should not pay it.
  let cache: Listener[] | Map<string, Listener> = [];
  // While a `replace` runs: the listeners of the new document.
  let made: Listener[] | undefined;
  // While a patch runs: the listeners it made or reused, committed on success only, so a failed
  // patch leaves the cache as it was.
  let fresh: Map<string, Listener> | undefined;
  let visited = 0;
  // Measured by the last full walk: what a compaction would keep and what it would cost.
  let liveAtWalk = 0;
  let nodesAtWalk = 0;

  function indexed(): Map<string, Listener> {
    if (Array.isArray(cache)) {
      // Two listeners may share a code (different extra members): the last one wins.
      const index = new Map<string, Listener>();
      for (const listener of cache) index.set(listener.code, listener);
      cache = index;
    }
    return cache;
  }

  function listenerFor(json: ListenerObject): Listener {
    const code = json.code;
    let listener =
      fresh?.get(code) ?? (Array.isArray(cache) && !cache.length ? undefined : indexed().get(code));
    if (listener === undefined || !jsonEqual(listener.toJSON(), json)) {
      listener = createListener(json, call);
    }
    if (made) {
      made.push(listener);
    } else {
      fresh ??= new Map();
      fresh.set(code, listener);
    }
    return listener;
  }

  /**
   * Converts a value without mutating it: only containers leading to what changes are copied.
   * `live`: hydrates raw JSON, listener objects becoming functions. Otherwise gives the raw JSON
   * of a live value (rare: a live value moved into a listener object).
   */
  function convert(value: unknown, live: boolean, depth = 0): unknown {
    visited++;
    if (!live && isListener(value)) return value.toJSON();
    if (!isContainer(value)) return value;
    if (depth > MAX_DEPTH) {
      throw new LenraPatchError({
        failure: "too_deep",
        index: -1,
        operation: undefined,
        message: `A value nested over ${MAX_DEPTH} levels deep was refused: check the app's view.`,
      });
    }
    const array = Array.isArray(value);
    if (live && !array && isListenerObject(value)) return listenerFor(value);
    let copy: Record<string, unknown> | undefined;
    for (const key of Object.keys(value)) {
      const member = (value as Record<string, unknown>)[key];
      // Nothing to hydrate in a primitive. Dehydrating goes on: a listener is a function.
      if (live && !isContainer(member)) {
        visited++;
        continue;
      }
      const converted = convert(member, live, depth + 1);
      if (converted !== member) {
        copy ??= (array ? value.slice() : { ...value }) as Record<string, unknown>;
        setOwn(copy, key, converted);
      }
    }
    return copy ?? value;
  }

  function seal(object: Record<string, unknown>, raw: boolean): unknown {
    const listener = isListenerObject(object);
    // A listener object is a leaf holding raw JSON; anything else holds live values.
    if (listener === raw) return listener ? listenerFor(object) : object;
    for (const key of Object.keys(object)) setOwn(object, key, convert(object[key], raw));
    return listener ? listenerFor(object as ListenerObject) : object;
  }

  const hooks: PatchHooks = {
    revive: (value) => convert(value, true),
    dehydrate: (value) => convert(value, false),
    seal,
  };

  /** Keeps only the listeners present in `doc`, measuring what the next compaction will cost. */
  function compact(doc: unknown): void {
    const live: Listener[] = [];
    let nodes = 0;
    const walk = (node: unknown): void => {
      nodes++;
      if (isListener(node)) live.push(node);
      else if (isContainer(node)) for (const member of Object.values(node)) walk(member);
    };
    walk(doc);
    cache = live;
    liveAtWalk = live.length;
    nodesAtWalk = nodes;
  }

  return {
    replace(json) {
      made = [];
      visited = 0;
      try {
        const hydrated = convert(json, true);
        // Only the listeners of this document survive: the cache cannot outgrow it.
        cache = made;
        liveAtWalk = made.length;
        nodesAtWalk = visited;
        return hydrated;
      } finally {
        made = undefined;
      }
    },

    patch(doc, operations) {
      let result: unknown;
      let grown = 0;
      try {
        result = applyPatchWith(doc, operations, hooks);
        if (fresh) {
          const index = indexed();
          for (const [code, listener] of fresh) index.set(code, listener);
          grown = index.size - liveAtWalk;
        }
      } finally {
        fresh = undefined;
      }
      // A compaction walks the whole document: wait until enough entries piled up to pay for it,
      // which keeps it amortized O(1) per new listener and the cache bounded.
      if (grown > 256 && grown > liveAtWalk && grown > nodesAtWalk >>> 3) compact(result);
      return result;
    },

    get size() {
      return indexed().size;
    },
  };
}
