import { epochSeconds, type Clock } from "../clock.js";
import type { AccessClaims, TokenService } from "./tokens.js";

/**
 * Remembers tokens that verified, keyed by the exact token string, so a client sending the
 * same token again skips the signature check. An entry is served only while `now < exp`
 * (never beyond the token's own expiry) and while the keys are those it was verified with (a
 * key rotated out of a remote JWKS takes its tokens' entries with it); at most `maxEntries`
 * are kept (oldest dropped first), and failures are never cached. Everything else passes through.
 */
export function withVerifiedTokenCache(tokens: TokenService, options: { maxEntries: number; clock: Clock }): TokenService {
  if (options.maxEntries <= 0) return tokens;
  const entries = new Map<string, AccessClaims>();
  let version = tokens.keysVersion();
  return {
    ...tokens,
    async verify(token) {
      const now = tokens.keysVersion();
      if (now !== version) {
        entries.clear();
        version = now;
      }
      const hit = entries.get(token);
      if (hit !== undefined) {
        if (epochSeconds(options.clock) < hit.exp) return hit;
        entries.delete(token);
      }
      const claims = await tokens.verify(token);
      if (tokens.keysVersion() !== version) return claims; // the keys changed during the check: do not cache
      entries.set(token, claims);
      if (entries.size > options.maxEntries) entries.delete(entries.keys().next().value!);
      return claims;
    },
  };
}
