import type { RedisClient } from "../cache/redis-client.js";
import type { Clock } from "../clock.js";

/**
 * Revoked access tokens, by `jti`, and revoked sessions, by `sid` (every access token issued
 * in the session), each kept until nothing it covers can still be valid.
 */
export interface RevocationStore {
  revoke(jti: string, exp: number): Promise<void>;
  /** Revokes every access token carrying `sid`, until `until` (epoch seconds). */
  revokeSession(sid: string, until: number): Promise<void>;
  /** Whether the token (by jti) or its session (by sid) is revoked. */
  isRevoked(jti: string | undefined, sid?: string): Promise<boolean>;
}

const jtiKey = (jti: string) => `revoked:jti:${jti}`;
const sidKey = (sid: string) => `revoked:sid:${sid}`;

function keysOf(jti: string | undefined, sid: string | undefined): string[] {
  const keys: string[] = [];
  if (jti !== undefined) keys.push(jtiKey(jti));
  if (sid !== undefined) keys.push(sidKey(sid));
  return keys;
}

/** Revocations in Redis, seen at once by every instance sharing it (the keys checked in parallel). */
export function createRedisRevocationStore(client: RedisClient): RevocationStore {
  return {
    async revoke(jti, exp) {
      await client.set(jtiKey(jti), "1", "EXAT", exp);
    },
    async revokeSession(sid, until) {
      await client.set(sidKey(sid), "1", "EXAT", until);
    },
    async isRevoked(jti, sid) {
      // one EXISTS per key: on a Cluster the two keys may live in different slots
      const found = await Promise.all(keysOf(jti, sid).map((k) => client.exists(k)));
      return found.some((n) => n > 0);
    },
  };
}

/** Revocations in this process (the embedded default: one instance). */
export function createMemoryRevocationStore(clock: Clock, maxEntries = 1_000_000): RevocationStore {
  const revoked = new Map<string, number>();
  const add = (key: string, until: number) => {
    revoked.set(key, until);
    if (revoked.size > maxEntries) {
      const now = clock.now() / 1000;
      for (const [k, e] of revoked) if (e <= now) revoked.delete(k);
    }
  };
  const has = (key: string) => {
    const until = revoked.get(key);
    if (until === undefined) return false;
    if (until <= clock.now() / 1000) {
      revoked.delete(key);
      return false;
    }
    return true;
  };
  return {
    async revoke(jti, exp) {
      add(jtiKey(jti), exp);
    },
    async revokeSession(sid, until) {
      add(sidKey(sid), until);
    },
    async isRevoked(jti, sid) {
      return keysOf(jti, sid).some(has);
    },
  };
}
