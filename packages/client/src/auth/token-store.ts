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
