/** A map that holds at most a fixed number of entries, dropping the oldest first. */
export interface BoundedMap<K, V> {
  get(key: K): V | undefined;
  /** Stores `value` as the newest entry (a key set again moves to the end), then drops the oldest beyond the cap. */
  set(key: K, value: V): void;
  delete(key: K): boolean;
  clear(): void;
  readonly size: number;
}

/**
 * Creates a {@link BoundedMap} of at most `maxEntries` (0 holds nothing): for memos and
 * in-process stores whose keys come from callers, so their number cannot grow the heap. Reading
 * does not reorder; to keep a read entry (least recently used eviction), set it again.
 */
export function createBoundedMap<K, V>(maxEntries: number): BoundedMap<K, V> {
  const entries = new Map<K, V>();
  return {
    get: (key) => entries.get(key),
    set(key, value) {
      entries.delete(key);
      entries.set(key, value);
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
    },
    delete: (key) => entries.delete(key),
    clear: () => entries.clear(),
    get size() {
      return entries.size;
    },
  };
}
