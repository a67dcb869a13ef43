import { epochSeconds, type Clock } from "../clock.js";
import type { AccessClaims, TokenService } from "./tokens.js";

/**
 * Remembers tokens that verified, keyed by the exact token string, so a client sending the
 * same token again skips the signature check. An entry is served only while `now < exp`
 * (never beyond the token's own expiry), at most `maxEntries` are kept (oldest dropped
 * first), and failures are never cached. Everything else passes through.
 */
export function withVerifiedTokenCache(tokens: TokenService, options: { maxEntries: number; clock: Clock }): TokenService {
  if (options.maxEntries <= 0) return tokens;
  const entries = new Map<string, AccessClaims>();
  return {
    ...tokens,
    async verify(token) {
      const hit = entries.get(token);
      if (hit !== undefined) {
        if (epochSeconds(options.clock) < hit.exp) return hit;
        entries.delete(token);
      }
      const claims = await tokens.verify(token);
      entries.set(token, claims);
      if (entries.size > options.maxEntries) entries.delete(entries.keys().next().value!);
      return claims;
    },
  };
}
