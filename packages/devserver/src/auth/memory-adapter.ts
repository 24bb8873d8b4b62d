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

/**
 * The state of one auth server: every model's entries plus the secondary indexes the provider
 * looks entries up by. One store per server, so two servers in one process never share tokens
 * (oidc-provider's own memory adapter keeps a process-wide store).
 */
export interface MemoryStore {
  /** The adapter factory to give oidc-provider as its `adapter` option. */
  adapterFor(model: string): Adapter;
  /** Drops everything, for `close()`. */
  clear(): void;
}

/** Creates an empty in-memory store for one auth server. */
export function createMemoryStore(now: () => number = Date.now): MemoryStore {
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

  const adapterFor = (model: string): Adapter => {
    const keyOf = (id: string) => `${model}:${id}`;
    const findKey = async (key: string | undefined) =>
      key === undefined ? undefined : live(key) && copy(live(key)!.payload);

    return {
      async upsert(id, payload, expiresIn) {
        const key = keyOf(id);
        remove(key);
        const expiresAt =
          typeof expiresIn === "number" && expiresIn > 0 ? now() + expiresIn * 1000 : Infinity;
        entries.set(key, { payload: copy(payload), expiresAt });
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
        writes += 1;
        if (writes % SWEEP_EVERY_WRITES === 0) sweep();
      },
      find: (id) => findKey(keyOf(id)),
      findByUid: (uid) => findKey(sessionsByUid.get(uid)),
      findByUserCode: (userCode) => findKey(byUserCode.get(userCode)),
      async consume(id) {
        const entry = live(keyOf(id));
        // Seconds, as oidc-provider compares it with its own epoch-second clock.
        if (entry !== undefined) entry.payload.consumed = Math.floor(now() / 1000);
      },
      async destroy(id) {
        remove(keyOf(id));
      },
      async revokeByGrantId(grantId) {
        const members = grants.get(grantId);
        if (members === undefined) return;
        for (const key of [...members]) remove(key);
        grants.delete(grantId);
      },
    };
  };

  return {
    adapterFor,
    clear() {
      entries.clear();
      grants.clear();
      sessionsByUid.clear();
      byUserCode.clear();
    },
  };
}
