import { jitter, type Cache } from "./cache.js";
import { createSingleFlight } from "./single-flight.js";

/** The placeholder cached for a key that has no value. */
const notFound = "*";

/** Options of {@link createCacheAside}: how one kind of entry is keyed, stored, read and loaded. */
export interface CacheAsideOptions<K, V> {
  /** The cache key of `k` (`cache:user:id:<id>`). */
  key(k: K): string;
  /** The text cached for a value. */
  encode(value: V): string;
  /**
   * The value a cached text stands for, or undefined to treat it as a miss (corrupt, or not the
   * value of `k`). May look further, as an index entry naming a row does.
   */
  decode(text: string, k: K): V | undefined | Promise<V | undefined>;
  /** Reads the value from the store of record; undefined when there is none. */
  load(k: K): Promise<V | undefined>;
  /** Seconds a loaded value is cached, spread by about 5% ({@link jitter}). */
  expiry: number;
  /** Seconds a key without a value is remembered by a placeholder; when absent, absence is not cached. */
  notFoundExpiry?: number;
  random?: () => number;
  /** Told of every lookup that reads the cache (concurrent lookups share one, as go-zero's do: a burst costs one round trip). */
  onLookup?: (result: "hit" | "miss") => void;
}

/** Values of one kind through a cache (go-zero's cached model for one key). */
export interface CacheAside<K, V> {
  /** The cached value of `k`, or on a miss the loaded one, cached for the next lookup. */
  get(k: K): Promise<V | undefined>;
  /** Caches `value` as the value of `k`. */
  set(k: K, value: V): Promise<void>;
}

/**
 * Creates a cache-aside reader: a hit is decoded, a miss is loaded once per key in flight in
 * this process (single flight) and written back with a jittered lifetime, or as the not-found
 * placeholder with its short one. Writers invalidate by deleting `key(k)`.
 */
export function createCacheAside<K, V>(cache: Cache, options: CacheAsideOptions<K, V>): CacheAside<K, V> {
  const { key, encode, decode, load, expiry, notFoundExpiry, random, onLookup } = options;
  const flight = createSingleFlight();
  const fill = async (k: K, cacheKey: string) => {
    onLookup?.("miss");
    const value = await load(k);
    if (value !== undefined) await cache.set(cacheKey, encode(value), jitter(expiry, random));
    else if (notFoundExpiry !== undefined) await cache.set(cacheKey, notFound, notFoundExpiry);
    return value;
  };
  // the not-found placeholder, when absence is cached (otherwise "*" is text like any other)
  const isPlaceholder = (text: string) => text === notFound && notFoundExpiry !== undefined;
  const lookup = async (k: K, cacheKey: string) => {
    const text = await cache.get(cacheKey);
    if (text !== undefined) {
      if (isPlaceholder(text)) {
        onLookup?.("hit");
        return undefined;
      }
      const decoded = decode(text, k);
      const value = decoded instanceof Promise ? await decoded : decoded;
      if (value !== undefined) {
        onLookup?.("hit");
        return value;
      }
    }
    return fill(k, cacheKey);
  };
  return {
    get(k) {
      const cacheKey = key(k);
      return flight(cacheKey, () => lookup(k, cacheKey));
    },
    set: (k, value) => cache.set(key(k), encode(value), jitter(expiry, random)),
  };
}
