import type { JWK } from "jose";
import { firstKnowing, localKeySet, type KeySet } from "./key-set.js";
import type { SigningKey, VerificationKey } from "./keys.js";

/** The keys of one issuer or verifier: the one that signs (if any), those that verify, and where to look for more. */
export interface KeyRing extends KeySet {
  /** The key new tokens are signed with; undefined for a verifier. */
  readonly signing: SigningKey | undefined;
  /** The public keys held (none for HS256 secrets), to publish as a JWKS. */
  publicJwks(): JWK[];
  /** Changes whenever the keys do (a remote JWKS rotated or dropped one). */
  version(): number;
  /** Stops background work (a remote set's refetch timer). */
  close(): void;
}

/** Options of {@link createKeyRing}. */
export interface KeyRingOptions {
  /** Signs new tokens and verifies them. */
  signing?: SigningKey;
  /** Earlier keys (a previous secret, retired key pairs) that still verify until removed. */
  verifyKeys?: readonly VerificationKey[];
  /** Keys from elsewhere (`createRemoteKeySet`), consulted for a `kid` the ring does not hold. */
  remote?: KeySet;
}

/**
 * Creates a key ring: the signing key first, then the verify-only keys, then the remote set.
 * A token is only ever checked with the key its `kid` names (or, without a `kid`, every key of
 * its algorithm, as go-zero tokens need).
 *
 * @example
 * const keys = createKeyRing({ signing: await hmacKey(secret), verifyKeys: [(await hmacKey(previous)).verify] });
 */
export function createKeyRing(options: KeyRingOptions): KeyRing {
  // Stryker disable next-line ArrayDeclaration: a non-key in the ring has no kid, alg or jwk, so it answers no token and publishes nothing
  const ring: VerificationKey[] = options.signing ? [options.signing.verify] : [];
  // Stryker disable next-line ArrayDeclaration: the same, for the fallback of no verify keys
  ring.push(...(options.verifyKeys ?? []));
  const local = localKeySet(ring);
  const keys = options.remote ? firstKnowing([local, options.remote]) : local;
  return {
    signing: options.signing,
    candidates: (kid, alg) => keys.candidates(kid, alg),
    publicJwks: () => local.publicJwks(),
    version: () => keys.version?.() ?? 0,
    close: () => options.remote?.close?.(),
  };
}
