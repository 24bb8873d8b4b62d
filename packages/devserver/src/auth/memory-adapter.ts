import type { Adapter, AdapterPayload } from "oidc-provider";

interface Entry {
  payload: AdapterPayload;
  /** Epoch milliseconds; `Infinity` for entries saved without a lifetime. */
  expiresAt: number;
}

/** Models whose entries belong to a grant, so that revoking the grant removes them. */
const GRANT_BOUND = new Set([
  "AccessToken",
  "AuthorizationCode",
  "RefreshToken",
  "DeviceCode",
  "BackchannelAuthenticationRequest",
]);

/** Sweeping on every write would cost O(n) each time; every N writes keeps memory bounded cheaply. */
const SWEEP_EVERY_WRITES = 256;

/** One entry as it is saved: what the provider stored under `model` and `id`, until when. */
export interface SavedEntry {
  model: string;
  id: string;
  payload: AdapterPayload;
  /** Epoch milliseconds; `null` for an entry saved without a lifetime. */
  expiresAt: number | null;
}

/**
 * The state of one auth server: every model's entries plus the secondary indexes the provider
 * looks entries up by. One store per server, so two servers in one process never share tokens
 * (oidc-provider's own memory adapter keeps a process-wide store).
 */
export interface MemoryStore {
  /** The adapter factory to give oidc-provider as its `adapter` option. */
  adapterFor(model: string): Adapter;
  /** The live entries, expired ones left out: what a restarted server needs to go on. */
  entries(): SavedEntry[];
  /** Puts back entries from {@link MemoryStore.entries} (a previous run's), expired ones left out. */
  restore(saved: readonly SavedEntry[]): void;
  /** Drops everything, for `close()`. */
  clear(): void;
}

/**
 * Creates an empty in-memory store for one auth server. `onChange` is called after every write
 * (not after the sweeps that drop expired entries, which nobody needs saved).
 */
export function createMemoryStore(
  onChange: () => void = () => {},
  now: () => number = Date.now,
): MemoryStore {
  const entries = new Map<string, Entry>();
  /** grantId -> keys of the entries issued under it. */
  const grants = new Map<string, Set<string>>();
  /** Session uid -> session key; user code -> key. */
  const sessionsByUid = new Map<string, string>();
  const byUserCode = new Map<string, string>();
  let writes = 0;

  const live = (key: string): Entry | undefined => {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now()) {
      remove(key);
      return undefined;
    }
    return entry;
  };

  const remove = (key: string): void => {
    const entry = entries.get(key);
    if (entry === undefined) return;
    entries.delete(key);
    const { grantId, uid, userCode } = entry.payload;
    if (typeof grantId === "string") {
      const members = grants.get(grantId);
      members?.delete(key);
      if (members?.size === 0) grants.delete(grantId);
    }
    if (typeof uid === "string" && sessionsByUid.get(uid) === key) sessionsByUid.delete(uid);
    if (typeof userCode === "string" && byUserCode.get(userCode) === key) {
      byUserCode.delete(userCode);
    }
  };

  const sweep = (): void => {
    const time = now();
    for (const [key, entry] of entries) {
      if (entry.expiresAt <= time) remove(key);
    }
  };

  // Copies keep the store independent of the model objects the provider goes on mutating.
  const copy = (payload: AdapterPayload): AdapterPayload => structuredClone(payload);

  const put = (model: string, id: string, payload: AdapterPayload, expiresAt: number): void => {
    const key = `${model}:${id}`;
    remove(key);
    entries.set(key, { payload, expiresAt });
    if (GRANT_BOUND.has(model) && typeof payload.grantId === "string") {
      let members = grants.get(payload.grantId);
      if (members === undefined) {
        members = new Set();
        grants.set(payload.grantId, members);
      }
      members.add(key);
    }
    if (model === "Session" && typeof payload.uid === "string") {
      sessionsByUid.set(payload.uid, key);
    }
    if (typeof payload.userCode === "string") byUserCode.set(payload.userCode, key);
  };

  const adapterFor = (model: string): Adapter => {
    const keyOf = (id: string) => `${model}:${id}`;
    const findKey = async (key: string | undefined) =>
      key === undefined ? undefined : live(key) && copy(live(key)!.payload);

    return {
      async upsert(id, payload, expiresIn) {
        // The payload's own `exp` (epoch seconds) when it has one: then an entry expires here
        // exactly when the provider calls it expired, not up to a second later.
        const expiresAt =
          typeof payload.exp === "number"
            ? payload.exp * 1000
            : typeof expiresIn === "number" && expiresIn > 0
              ? now() + expiresIn * 1000
              : Infinity;
        put(model, id, copy(payload), expiresAt);
        writes += 1;
        if (writes % SWEEP_EVERY_WRITES === 0) sweep();
        onChange();
      },
      find: (id) => findKey(keyOf(id)),
      findByUid: (uid) => findKey(sessionsByUid.get(uid)),
      findByUserCode: (userCode) => findKey(byUserCode.get(userCode)),
      async consume(id) {
        const entry = live(keyOf(id));
        if (entry === undefined) return;
        // Seconds, as oidc-provider compares it with its own epoch-second clock.
        entry.payload.consumed = Math.floor(now() / 1000);
        onChange();
      },
      async destroy(id) {
        remove(keyOf(id));
        onChange();
      },
      async revokeByGrantId(grantId) {
        const members = grants.get(grantId);
        if (members === undefined) return;
        for (const key of [...members]) remove(key);
        grants.delete(grantId);
        onChange();
      },
    };
  };

  return {
    adapterFor,
    entries() {
      const time = now();
      const saved: SavedEntry[] = [];
      for (const [key, { payload, expiresAt }] of entries) {
        if (expiresAt <= time) continue;
        const colon = key.indexOf(":");
        saved.push({
          model: key.slice(0, colon),
          id: key.slice(colon + 1),
          payload: copy(payload),
          expiresAt: expiresAt === Infinity ? null : expiresAt,
        });
      }
      return saved;
    },
    restore(saved) {
      const time = now();
      for (const { model, id, payload, expiresAt } of saved) {
        if (expiresAt !== null && expiresAt <= time) continue;
        put(model, id, copy(payload), expiresAt ?? Infinity);
      }
    },
    clear() {
      entries.clear();
      grants.clear();
      sessionsByUid.clear();
      byUserCode.clear();
    },
  };
}
