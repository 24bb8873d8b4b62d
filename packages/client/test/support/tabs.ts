import { IDBFactory } from "fake-indexeddb";
import { memoryStorage } from "./auth.ts";

/**
 * What the login uses of a browser, for clients in Node that stand for the tabs of one origin:
 * `window` (its location and the `storage` events); a `localStorage` they share, whose writes
 * reach the tabs as they reach other tabs in Chromium, a task later, with a `storage` event
 * (the tabs read what they had until then); an IndexedDB (fake-indexeddb), consistent as a
 * browser's is; and `navigator.locks`, a first-come mutex per name. Every client created in
 * between is a tab of `origin`; `remove()` takes it all away. The real thing runs in Chromium in
 * `e2e/`.
 */
export function installTabs(origin = "http://localhost:5999") {
  const globals = globalThis as Record<string, unknown>;
  const saved = ["window", "localStorage", "sessionStorage", "navigator", "indexedDB"].map(
    (name) => [name, Object.getOwnPropertyDescriptor(globals, name)] as const,
  );
  const win = Object.assign(new EventTarget(), { location: new URL(`${origin}/`) });
  // What was written, and what the tabs read: the same a task later.
  const local = memoryStorage();
  const seen = memoryStorage();
  const tell = (key: string, newValue: string | null) =>
    setTimeout(() => {
      if (newValue === null) seen.removeItem(key);
      else seen.setItem(key, newValue);
      win.dispatchEvent(
        Object.assign(new Event("storage"), { key, newValue, storageArea: shared }),
      );
    });
  const shared = {
    getItem: seen.getItem,
    setItem(key: string, value: string) {
      local.setItem(key, value);
      tell(key, value);
    },
    removeItem(key: string) {
      local.removeItem(key);
      tell(key, null);
    },
  };
  const held = new Map<string, Promise<unknown>>();
  const locks = {
    request<T>(name: string, run: () => Promise<T>): Promise<T> {
      const result = (held.get(name) ?? Promise.resolve()).then(run);
      held.set(
        name,
        result.catch(() => {}),
      );
      return result;
    },
  };
  const define = (name: string, value: unknown) =>
    Object.defineProperty(globals, name, { value, configurable: true, writable: true });
  define("window", win);
  define("localStorage", shared);
  define("navigator", { locks });
  define("indexedDB", new IDBFactory());
  return {
    /** What the tabs' `localStorage` holds. */
    items: local.items,
    /** Gives the tabs a `sessionStorage` (one for all of them, as if they were one tab). */
    withSessionStorage() {
      const session = memoryStorage();
      define("sessionStorage", session);
      return session;
    },
    remove() {
      for (const [name, descriptor] of saved) {
        if (descriptor) Object.defineProperty(globals, name, descriptor);
        else delete globals[name];
      }
    },
  };
}
