import type { Clock } from "../clock.js";
import { createBoundedMap } from "./bounded-map.js";

/** At most a fixed number of values, each until its own expiry, the least recently used dropped first. */
export interface ExpiringLru<K, V> {
  /** The value of `key` while it has not expired; undefined otherwise (an expired one is dropped). */
  get(key: K): V | undefined;
  /** Stores `value` for `ttlMs` milliseconds as the most recently used, dropping the least recently used beyond the cap. */
  set(key: K, value: V, ttlMs: number): void;
  delete(key: K): void;
  clear(): void;
}

/**
 * Creates an {@link ExpiringLru} of at most `maxEntries`. A read moves its entry to the newest
 * end only once the entry has dropped into the older half (fewer than half the cap written
 * since), so a hot entry costs no move per read and is still never the next to go.
 */
export function createExpiringLru<K, V>(options: { maxEntries: number; clock: Clock }): ExpiringLru<K, V> {
  const { maxEntries, clock } = options;
  const entries = createBoundedMap<K, { value: V; expiresAt: number; written: number }>(maxEntries);
  // writes (a store, or a read entry moved to the newest end) so far
  let writes = 0;
  const recent = maxEntries >> 1;
  return {
    get(key) {
      const e = entries.get(key);
      if (e === undefined) return undefined;
      if (e.expiresAt <= clock.now()) {
        entries.delete(key);
        return undefined;
      }
      if (writes - e.written >= recent) {
        e.written = ++writes;
        entries.set(key, e); // most recently used last
      }
      return e.value;
    },
    set(key, value, ttlMs) {
      entries.set(key, { value, expiresAt: clock.now() + ttlMs, written: ++writes });
    },
    delete: (key) => void entries.delete(key),
    clear: () => entries.clear(),
  };
}
