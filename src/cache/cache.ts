/**
 * A string key-value cache with per-entry lifetimes. Keys are given without the deployment's
 * prefix; implementations add it. Reads and writes may throw when the backend cannot be
 * reached: wrap a serving-path cache in `createResilientCache`.
 */
export interface Cache {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  /** Removes keys everywhere this cache is shared; throws if that cannot be ensured. */
  del(...keys: string[]): Promise<void>;
  close(): Promise<void>;
}

/** A lifetime spread by about +-5% so keys written together do not expire together. */
export function jitter(ttlSeconds: number, random: () => number = Math.random): number {
  return Math.max(1, Math.round(ttlSeconds * (0.95 + random() * 0.1)));
}
