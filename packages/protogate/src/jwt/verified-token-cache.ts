import type { Message } from "@bufbuild/protobuf";
import type { VerifiedToken } from "../context.js";
import { epochSeconds, systemClock, type Clock } from "../lib/clock.js";

/** What {@link withVerifiedTokenCache} wraps: a verifier and the version of its keys. */
export interface CachableVerifier<M extends Message> {
  verify(token: string): Promise<VerifiedToken<M>>;
  keysVersion(): number;
}

/** The verified token a {@link CachableVerifier} gives. */
type VerifiedOf<V> = V extends CachableVerifier<infer M> ? VerifiedToken<M> : never;

/**
 * What {@link withVerifiedTokenCache} returns: the verifier, whose `verify` answers a hit with the
 * token itself, and `peek`, which answers a hit only (undefined for anything else, never checking).
 */
export type CachedVerifier<V> = Omit<V, "verify"> & {
  verify(token: string): VerifiedOf<V> | Promise<VerifiedOf<V>>;
  peek(token: string): VerifiedOf<V> | undefined;
};

/**
 * The part of a token its entry is found by: its last characters (the signature's), so a
 * lookup hashes a few dozen characters rather than the whole token (~1.6 ns a character).
 */
const tailLength = 32;

/**
 * Remembers tokens that verified, by the exact token string, so a client sending the
 * same token again skips the signature check. An entry is found by the token's tail and
 * served only to the whole token it was verified as. An entry is served only while `now < exp`
 * (never beyond the token's own expiry) and while the keys are those it was verified with (a
 * key rotated out of a remote JWKS takes its tokens' entries with it); at most `maxEntries`
 * are kept (oldest dropped first), and failures are never cached. Everything else passes through.
 * A hit is returned as the value itself, a miss as the verifier's promise.
 */
export function withVerifiedTokenCache<M extends Message, V extends CachableVerifier<M>>(
  verifier: V,
  options: { maxEntries: number; clock?: Clock },
): CachedVerifier<V> {
  if (options.maxEntries <= 0) return { ...verifier, peek: () => undefined } as unknown as CachedVerifier<V>;
  const clock = options.clock ?? systemClock;
  const entries = new Map<string, { token: string; verified: VerifiedToken<M> }>();
  let version = verifier.keysVersion();
  // the live entry verified as exactly `token` under the current keys
  const peek = (token: string): VerifiedToken<M> | undefined => {
    const now = verifier.keysVersion();
    if (now !== version) {
      entries.clear();
      version = now;
    }
    // Stryker disable next-line UnaryOperator,MethodExpression: any part of the token finds the same entries (the whole token decides)
    const tail = token.slice(-tailLength);
    const hit = entries.get(tail);
    if (hit === undefined || hit.token !== token) return undefined;
    if (epochSeconds(clock) < hit.verified.exp) return hit.verified;
    entries.delete(tail);
    return undefined;
  };
  const cached: CachableVerifier<M> & { verify(token: string): VerifiedToken<M> | Promise<VerifiedToken<M>>; peek: typeof peek } = {
    ...verifier,
    peek,
    // a hit is the value itself, not a promise of it: the interceptor uses it at once
    verify(token: string) {
      const hit = peek(token);
      if (hit !== undefined) return hit;
      const keys = version;
      return verifier.verify(token).then((verified) => {
        // the keys changed during this check (whether or not another call has seen it yet): do not cache
        if (verifier.keysVersion() !== keys) return verified;
        // Stryker disable next-line UnaryOperator,MethodExpression: as in peek
        entries.set(token.slice(-tailLength), { token, verified });
        if (entries.size > options.maxEntries) entries.delete(entries.keys().next().value!);
        return verified;
      });
    },
  };
  return cached as unknown as CachedVerifier<V>;
}
