import type { TokenStorage, TokenStorageOption } from "./options.ts";

/** What a successful token response leaves us with. */
export interface TokenSet {
  readonly accessToken: string;
  readonly refreshToken: string | undefined;
  /** When the access token was issued, epoch milliseconds. */
  readonly issuedAt: number;
  /** When the access token expires, epoch milliseconds; undefined when the server gave no lifetime. */
  readonly expiresAt: number | undefined;
  readonly idToken: string | undefined;
  readonly scopes: readonly string[];
  /** The ID token's claims, when there is one. */
  readonly claims: Readonly<Record<string, unknown>> | undefined;
}

/**
 * Keeps the token set where the app chose. Memory is the default; for browser storages the set
 * is one JSON entry, so replacing it (refresh-token rotation) is a single atomic write.
 */
export class TokenStore {
  readonly #key: string;
  readonly #option: TokenStorageOption;
  #memory: TokenSet | undefined;

  constructor(clientId: string, option: TokenStorageOption) {
    this.#key = `lenra:auth:${clientId}`;
    this.#option = option;
  }

  /** The storage key, to recognise `storage` events from other tabs. */
  get key(): string {
    return this.#key;
  }

  /** The shared storage other tabs write to, if any. */
  get sharedStorage(): Storage | undefined {
    return this.#option === "local" ? (this.#storage() as Storage | undefined) : undefined;
  }

  read(): TokenSet | undefined {
    const storage = this.#storage();
    if (!storage) return this.#memory;
    return parseTokenSet(storage.getItem(this.#key));
  }

  write(tokens: TokenSet | undefined): void {
    const storage = this.#storage();
    if (!storage) {
      this.#memory = tokens;
      return;
    }
    if (tokens) storage.setItem(this.#key, JSON.stringify(tokens));
    else storage.removeItem(this.#key);
  }

  // Resolved on each use, never at construction: storage must not be touched before the app
  // uses login (server-side rendering, sandboxed frames that throw on access).
  #storage(): TokenStorage | undefined {
    const option = this.#option;
    if (option === "memory") return undefined;
    if (typeof option === "object") return option;
    return option === "local" ? globalThis.localStorage : globalThis.sessionStorage;
  }
}

/** Reads a stored token set, ignoring anything malformed rather than trusting it. */
export function parseTokenSet(raw: string | null | undefined): TokenSet | undefined {
  if (!raw) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!value || typeof value !== "object") return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.accessToken !== "string" || v.accessToken === "") return undefined;
  const optionalString = (x: unknown) => (typeof x === "string" ? x : undefined);
  return {
    accessToken: v.accessToken,
    refreshToken: optionalString(v.refreshToken),
    issuedAt: typeof v.issuedAt === "number" && Number.isFinite(v.issuedAt) ? v.issuedAt : 0,
    expiresAt:
      typeof v.expiresAt === "number" && Number.isFinite(v.expiresAt) ? v.expiresAt : undefined,
    idToken: optionalString(v.idToken),
    scopes: Array.isArray(v.scopes)
      ? v.scopes.filter((s): s is string => typeof s === "string")
      : [],
    claims:
      v.claims && typeof v.claims === "object" && !Array.isArray(v.claims)
        ? (v.claims as Record<string, unknown>)
        : undefined,
  };
}
