/** What a successful token response leaves us with; held in memory only. */
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
 * What the token storage keeps of a session: its refresh token (rotated on every use) and the id
 * of the login it comes from, which tells a tab whether another tab's write is a refresh of the
 * session it holds or another login. Never an access token: a tab gets its own from the refresh
 * token.
 */
export interface StoredSession {
  readonly id: string;
  readonly refreshToken: string;
  /** Which write this is: tells a tab whether its copy of the storage is the latest (see `SessionVersion`). */
  readonly version?: string;
}

/** Reads a stored session, ignoring anything malformed rather than trusting it. */
export function parseStoredSession(raw: string | null | undefined): StoredSession | undefined {
  let value: Partial<StoredSession> | undefined;
  try {
    value = JSON.parse(raw ?? "");
  } catch {
    return undefined;
  }
  return typeof value?.id === "string" &&
    typeof value.refreshToken === "string" &&
    value.refreshToken
    ? {
        id: value.id,
        refreshToken: value.refreshToken,
        version: typeof value.version === "string" ? value.version : undefined,
      }
    : undefined;
}
