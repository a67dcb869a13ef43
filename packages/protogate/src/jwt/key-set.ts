import type { JWK } from "jose";
import type { VerificationKey } from "./keys.js";

/** Where verification keys come from: this process's key ring, a remote JWKS, or both. */
export interface KeySet {
  /**
   * The keys that may have signed a token with this header: the key named by `kid` (if it is
   * known), or, for a token without a `kid` (as go-zero issues), every key of the algorithm.
   */
  candidates(kid: string | undefined, alg: string): readonly VerificationKey[] | Promise<readonly VerificationKey[]>;
  /** Changes whenever the keys do (a fixed ring never changes). */
  version?(): number;
  /** Stops background work (a remote set's refetch timer). */
  close?(): void;
}

/** A fixed ring of keys: the current key first, then the previous ones not yet retired. */
export function localKeySet(keys: readonly VerificationKey[]): KeySet & { publicJwks(): JWK[] } {
  return {
    candidates(kid, alg) {
      if (kid !== undefined) return keys.filter((k) => k.kid === kid);
      return keys.filter((k) => k.alg === alg);
    },
    publicJwks: () => keys.flatMap((k) => (k.jwk ? [k.jwk] : [])),
  };
}

/** Tries each set in order; the first that knows a key answers. */
export function firstKnowing(sets: readonly KeySet[]): KeySet {
  return {
    version: () => sets.reduce((sum, s) => sum + (s.version?.() ?? 0), 0),
    async candidates(kid, alg) {
      for (const set of sets) {
        const found = await set.candidates(kid, alg);
        if (found.length > 0) return found;
      }
      return [];
    },
  };
}
