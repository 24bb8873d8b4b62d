import type { AdapterPayload } from "oidc-provider";
import type { PrivateJwks } from "./keys.ts";
import type { SavedEntry } from "./memory-adapter.ts";

/**
 * What the auth server keeps in the data file's `auth` section, so that a restarted server
 * accepts the tokens, sessions and ID tokens of the previous run: its keys and its adapter's
 * live entries (grants, sessions, access and refresh tokens, interactions in progress).
 */
export interface SavedAuth {
  /** The format's version: a file written by a later format is refused, not misread. */
  version: 1;
  /** The private JWKS signing ID tokens. */
  jwks: PrivateJwks;
  /** The keys signing the session and interaction cookies (and the login form's csrf values). */
  cookieKeys: string[];
  entries: SavedEntry[];
}

const MODEL_NAME = /^[A-Za-z]{1,64}$/;

/**
 * Checks a saved `auth` section (already free of prototype keys: the data store refuses them);
 * throws an `Error` saying what is wrong and what to do.
 */
export function parseSavedAuth(value: unknown): SavedAuth {
  const record = (what: unknown): Record<string, unknown> | undefined =>
    typeof what === "object" && what !== null && !Array.isArray(what)
      ? (what as Record<string, unknown>)
      : undefined;
  const section = record(value);
  const fail = (problem: string): never => {
    throw new Error(
      `${problem}. Delete the "auth" key of the file to start with no logins (the app's data is kept)`,
    );
  };
  if (section?.version !== 1) fail(`"version" is ${JSON.stringify(section?.version)}, not 1`);
  const jwks = record(section?.jwks);
  const keys = jwks?.keys;
  if (
    !Array.isArray(keys) ||
    keys.length === 0 ||
    keys.some((key) => typeof record(key)?.kty !== "string" || typeof record(key)?.d !== "string")
  ) {
    fail('"jwks" is not a set of private signing keys ({ "keys": [ { "kty", "d", … } ] })');
  }
  const cookieKeys = section?.cookieKeys;
  if (
    !Array.isArray(cookieKeys) ||
    cookieKeys.length === 0 ||
    cookieKeys.some((key) => typeof key !== "string" || key.length < 16)
  ) {
    fail('"cookieKeys" is not a list of keys (strings of 16 characters or more)');
  }
  const entries = section?.entries;
  if (!Array.isArray(entries)) fail('"entries" is not a list');
  for (const [index, entry] of (entries as unknown[]).entries()) {
    const fields = record(entry);
    if (
      typeof fields?.model !== "string" ||
      !MODEL_NAME.test(fields.model) ||
      typeof fields.id !== "string" ||
      fields.id.length === 0 ||
      fields.id.length > 512 ||
      record(fields.payload) === undefined ||
      !(fields.expiresAt === null || Number.isFinite(fields.expiresAt))
    ) {
      fail(
        `"entries[${index}]" is not of the form { "model", "id", "payload": { … }, "expiresAt": <ms> | null }`,
      );
    }
  }
  return {
    version: 1,
    jwks: jwks as unknown as PrivateJwks,
    cookieKeys: cookieKeys as string[],
    entries: (entries as Record<string, unknown>[]).map((entry) => ({
      model: entry.model as string,
      id: entry.id as string,
      payload: entry.payload as AdapterPayload,
      expiresAt: entry.expiresAt as number | null,
    })),
  };
}
