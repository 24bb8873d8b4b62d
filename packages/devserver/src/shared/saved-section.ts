/**
 * A section of the data file owned by a part of the dev server other than the app's data: the
 * OAuth server keeps its keys and logins under `auth`. The data store reads the file at start
 * and writes it with the data, atomically; the owner checks what was saved and says when its
 * state changed, so the file format of each part stays with that part.
 *
 * @example
 * ```ts
 * const store = await createDataStore({ file: ".devserver-data.json" });
 * const auth = await startAuthServer({ port: 0, persistence: store.section("auth") });
 * // Logins made now are in the file once the auth server and then the store are closed.
 * await auth.close();
 * await store.close();
 * ```
 */
export interface SavedSection {
  /**
   * What the data file held under this section when it was loaded, checked by `parse`, which
   * throws an `Error` saying what is wrong (the caller then gets a `DevServerError` of reason
   * `invalid_data_file` naming the file, which stays untouched). `undefined` when the file had
   * no such section, or when there is no file.
   */
  load<T>(parse: (saved: unknown) => T): T | undefined;
  /**
   * Says the owner's state changed: the file is written soon after, with the data (one write
   * for a burst of changes), holding what `snapshot` returns then (a JSON value). The last
   * `snapshot` given is the one called. Does nothing when there is no file.
   */
  save(snapshot: () => unknown): void;
}
