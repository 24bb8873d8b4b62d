import { createHmac, generateKeyPair, type JsonWebKey, randomBytes, randomUUID } from "node:crypto";
import { promisify } from "node:util";

const generateKeyPairAsync = promisify(generateKeyPair);

/** A JSON Web Key Set with private keys, as oidc-provider's `jwks` option takes it. */
export interface PrivateJwks {
  keys: JsonWebKey[];
}

/**
 * A fresh RS256 signing key for ID tokens. RS256 because it is what Hydra signs with and what
 * every client accepts; generated per start so no key ever lands on disk or in a repository.
 */
export async function generateSigningKeys(): Promise<PrivateJwks> {
  const { privateKey } = await generateKeyPairAsync("rsa", { modulusLength: 2048 });
  const jwk = privateKey.export({ format: "jwk" });
  return { keys: [{ ...jwk, kid: randomUUID(), alg: "RS256", use: "sig" }] };
}

/** Random keys to sign the session and interaction cookies with. */
export function generateCookieKeys(): string[] {
  return [randomBytes(32).toString("base64url")];
}

/** A key for one purpose derived from a secret, so one saved secret serves several uses. */
export function deriveKey(secret: string, purpose: string): Buffer {
  return createHmac("sha256", secret).update(purpose).digest();
}
