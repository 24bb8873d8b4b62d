/**
 * Which write of the stored session is the latest, as every tab of the origin sees it.
 *
 * `localStorage` is not consistent between tabs: Chromium gives each renderer process a copy of
 * it, updated by a message of its own, so a tab can be granted the refresh lock by the tab that
 * just rotated the refresh token and still read the token before the rotation. Redeeming it again
 * makes the authorization server revoke the whole login (reuse detection). IndexedDB is
 * consistent: a transaction sees every transaction committed before it began. So each write of
 * the stored session gets a version, committed here before the lock is released, and the next
 * tab waits until its copy of `localStorage` shows that version.
 *
 * The record holds no secret: a version is a random text, or `null` after a logout. Without
 * IndexedDB (or when it fails) every method answers `undefined`, "not known", and the tabs read
 * `localStorage` as it is.
 */
export interface SessionVersion {
  /** The latest version; `null` when the session was removed; `undefined` when not known. */
  read(): Promise<string | null | undefined>;
  /** Records `version` as the latest; resolves once committed (or failed). */
  write(version: string | null): Promise<void>;
}

const DATABASE = "lenra-auth";
const STORE = "session-versions";

/** The version record of the stored session `key`; closed when `signal` aborts. */
export function createSessionVersion(key: string, signal: AbortSignal): SessionVersion {
  let database: Promise<IDBDatabase | undefined> | undefined;

  function open(): Promise<IDBDatabase | undefined> {
    database ??= new Promise((resolve) => {
      try {
        const request = indexedDB.open(DATABASE, 1);
        request.onupgradeneeded = () => request.result.createObjectStore(STORE);
        request.onsuccess = () => {
          const db = request.result;
          // Let a newer version of this code upgrade the database in another tab.
          db.onversionchange = () => db.close();
          signal.addEventListener("abort", () => db.close(), { once: true });
          resolve(db);
        };
        // Blocked only while another tab's older connection is open: it closes on `versionchange`,
        // then this request succeeds.
        request.onerror = () => resolve(undefined);
      } catch {
        // No IndexedDB (Node, some private modes) or one that refuses this origin.
        resolve(undefined);
      }
    });
    return database;
  }

  async function run(
    mode: IDBTransactionMode,
    operation: (store: IDBObjectStore) => IDBRequest,
  ): Promise<unknown> {
    const db = await open();
    if (!db || signal.aborted) return undefined;
    return new Promise((resolve) => {
      try {
        const transaction = db.transaction(STORE, mode);
        const request = operation(transaction.objectStore(STORE));
        transaction.oncomplete = () => resolve(request.result);
        transaction.onerror = transaction.onabort = () => resolve(undefined);
      } catch {
        resolve(undefined);
      }
    });
  }

  return {
    async read() {
      const value = await run("readonly", (store) => store.get(key));
      return typeof value === "string" || value === null ? value : undefined;
    },
    async write(version) {
      await run("readwrite", (store) => store.put(version, key));
    },
  };
}
