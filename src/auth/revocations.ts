import type { Redis } from "ioredis";
import type { Clock } from "../clock.js";

/** Revoked access tokens, by `jti`, each kept until the token's own expiry. */
export interface RevocationStore {
  revoke(jti: string, exp: number): Promise<void>;
  isRevoked(jti: string): Promise<boolean>;
}

const key = (jti: string) => `revoked:jti:${jti}`;

/** Revocations in Redis, seen at once by every instance sharing it. */
export function createRedisRevocationStore(client: Redis): RevocationStore {
  return {
    async revoke(jti, exp) {
      await client.set(key(jti), "1", "EXAT", exp);
    },
    async isRevoked(jti) {
      return (await client.exists(key(jti))) === 1;
    },
  };
}

/** Revocations in this process (the embedded default: one instance). */
export function createMemoryRevocationStore(clock: Clock, maxEntries = 1_000_000): RevocationStore {
  const revoked = new Map<string, number>();
  return {
    async revoke(jti, exp) {
      revoked.set(jti, exp);
      if (revoked.size > maxEntries) {
        const now = clock.now() / 1000;
        for (const [k, e] of revoked) if (e <= now) revoked.delete(k);
      }
    },
    async isRevoked(jti) {
      const exp = revoked.get(jti);
      if (exp === undefined) return false;
      if (exp <= clock.now() / 1000) {
        revoked.delete(jti);
        return false;
      }
      return true;
    },
  };
}
