import type { LoginTransaction } from "./flows.ts";

/**
 * Pending login attempts, keyed by their state. A popup login keeps its attempt in memory. A
 * redirect login must survive the page load, so its attempt (state and PKCE verifier, never a
 * token) waits in this tab's sessionStorage until the callback takes it out. Each attempt is
 * single use and expires.
 */
export class TransactionStore {
  readonly #key: string;
  readonly #ttlMs: number;
  readonly #memory = new Map<string, LoginTransaction>();

  constructor(clientId: string, ttlMs: number) {
    this.#key = `lenra:auth:login:${clientId}`;
    this.#ttlMs = ttlMs;
  }

  save(transaction: LoginTransaction, where: "memory" | "session"): void {
    const storage = where === "session" ? sessionStorageOrUndefined() : undefined;
    if (!storage) {
      this.#memory.set(transaction.state, transaction);
      return;
    }
    const pending = this.#readStored(storage);
    pending[transaction.state] = transaction;
    storage.setItem(this.#key, JSON.stringify(pending));
  }

  /** Removes and returns the live attempt with this state, if any. */
  take(state: string): LoginTransaction | undefined {
    let transaction = this.#memory.get(state);
    this.#memory.delete(state);
    const storage = sessionStorageOrUndefined();
    if (storage) {
      const pending = this.#readStored(storage);
      if (Object.hasOwn(pending, state)) {
        transaction ??= pending[state];
        delete pending[state];
      }
      if (Object.keys(pending).length > 0) storage.setItem(this.#key, JSON.stringify(pending));
      else storage.removeItem(this.#key);
    }
    if (!transaction || transaction.state !== state) return undefined;
    return Date.now() - transaction.createdAt <= this.#ttlMs ? transaction : undefined;
  }

  /** The stored attempts that have not expired; anything malformed is dropped. */
  #readStored(storage: Storage): Record<string, LoginTransaction> {
    const pending: Record<string, LoginTransaction> = Object.create(null);
    let parsed: unknown;
    try {
      parsed = JSON.parse(storage.getItem(this.#key) ?? "{}");
    } catch {
      return pending;
    }
    if (!parsed || typeof parsed !== "object") return pending;
    const now = Date.now();
    for (const [state, value] of Object.entries(parsed as Record<string, unknown>)) {
      const tx = value as Partial<LoginTransaction> | null;
      if (
        tx &&
        typeof tx.state === "string" &&
        tx.state === state &&
        typeof tx.verifier === "string" &&
        typeof tx.redirectUri === "string" &&
        typeof tx.createdAt === "number" &&
        now - tx.createdAt <= this.#ttlMs
      ) {
        pending[state] = tx as LoginTransaction;
      }
    }
    return pending;
  }
}

function sessionStorageOrUndefined(): Storage | undefined {
  try {
    return typeof sessionStorage === "undefined" ? undefined : sessionStorage;
  } catch {
    // Accessing storage throws in some sandboxed frames.
    return undefined;
  }
}
