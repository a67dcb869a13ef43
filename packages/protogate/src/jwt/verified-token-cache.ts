import type { Message } from "@bufbuild/protobuf";
import type { VerifiedToken } from "../context.js";
import { epochSeconds, systemClock, type Clock } from "../lib/clock.js";

/** What {@link withVerifiedTokenCache} wraps: a verifier and the version of its keys. */
export interface CachableVerifier<M extends Message> {
  verify(token: string): Promise<VerifiedToken<M>>;
  keysVersion(): number;
}

/**
 * Remembers tokens that verified, keyed by the exact token string, so a client sending the
 * same token again skips the signature check. An entry is served only while `now < exp`
 * (never beyond the token's own expiry) and while the keys are those it was verified with (a
 * key rotated out of a remote JWKS takes its tokens' entries with it); at most `maxEntries`
 * are kept (oldest dropped first), and failures are never cached. Everything else passes through.
 */
export function withVerifiedTokenCache<M extends Message, V extends CachableVerifier<M>>(verifier: V, options: { maxEntries: number; clock?: Clock }): V {
  if (options.maxEntries <= 0) return verifier;
  const clock = options.clock ?? systemClock;
  const entries = new Map<string, VerifiedToken<M>>();
  let version = verifier.keysVersion();
  return {
    ...verifier,
    async verify(token: string) {
      const now = verifier.keysVersion();
      if (now !== version) {
        entries.clear();
        version = now;
      }
      const hit = entries.get(token);
      if (hit !== undefined) {
        if (epochSeconds(clock) < hit.exp) return hit;
        entries.delete(token);
      }
      const verified = await verifier.verify(token);
      // the keys changed during this check (whether or not another call has seen it yet): do not cache
      if (verifier.keysVersion() !== now) return verified;
      entries.set(token, verified);
      if (entries.size > options.maxEntries) entries.delete(entries.keys().next().value!);
      return verified;
    },
  };
}
