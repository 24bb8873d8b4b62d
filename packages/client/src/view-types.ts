import type { Listener } from "./listener.ts";

/**
 * The type of what `JSON.stringify` makes of a `T`: `toJSON()` results (such as `@lenra/app`
 * components), and no functions, symbols or `undefined` members.
 */
export type Jsonify<T> = T extends { toJSON(): infer J }
  ? Jsonify<J>
  : T extends string | number | boolean | null
    ? T
    : T extends undefined | symbol | ((...args: never[]) => unknown)
      ? never
      : T extends readonly unknown[]
        ? { [K in keyof T]: Jsonify<T[K]> extends never ? null : Jsonify<T[K]> }
        : T extends object
          ? { [K in keyof T as Jsonify<T[K]> extends never ? never : K]: Jsonify<T[K]> }
          : never;

/** `T` as the client shows it: listener objects become {@link Listener}s, nested views their data. */
type FromApp<T, Nested> = T extends { readonly _type: "listener" }
  ? Listener
  : T extends { readonly _type: "view" }
    ? Nested extends (...args: never[]) => unknown
      ? LenraViewData<Nested>
      : Nested
    : T extends readonly unknown[]
      ? { [K in keyof T]: FromApp<T[K], Nested> }
      : T extends object
        ? { [K in keyof T]: FromApp<T[K], Nested> }
        : T;

/**
 * The data a client gets for a view of a Lenra app written with `@lenra/app`, derived from the
 * view function's type, so a front end gets end-to-end types without code generation:
 *
 * ```ts
 * import type counter from "my-app/src/views/counter";
 * const { data } = useLenraView<LenraViewData<typeof counter>>("/counter/global");
 * data?.value; // number
 * data?.onIncrement(); // a Listener
 * ```
 *
 * The server renders nested `{ _type: "view" }` objects; give the nested view function as
 * `Nested` to type them (their data otherwise is `unknown`).
 */
export type LenraViewData<F extends (...args: never[]) => unknown, Nested = unknown> = FromApp<
  Jsonify<Awaited<ReturnType<F>>>,
  Nested
>;
