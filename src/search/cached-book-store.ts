import { createCacheAside } from "../cache/cache-aside.js";
import type { Cache } from "../cache/cache.js";
import { createBoundedMap } from "../lib/bounded-map.js";
import type { BookRecord, BookStore } from "./book-store.js";

/** `cache:book:name:<name>` holds the row, or the not-found placeholder. */
export const bookKey = (name: string) => `cache:book:name:${name}`;

/**
 * The catalog through the cache, as the user model: cache-aside by name, rows for
 * `Cache.Expiry` (jittered), unknown names for `Cache.NotFoundExpiry`, one load per name in
 * flight. The catalog is written only by migrations, so nothing here needs invalidating; a
 * warm `Do` makes no database query.
 */
export function createCachedBookStore(
  store: BookStore,
  cache: Cache,
  options: { expiry: number; notFoundExpiry: number; maxEntries?: number; random?: () => number; onLookup?: (result: "hit" | "miss") => void },
): BookStore {
  // the parsed form of each entry last read, by name: a hit returns the same text, not parsed again
  const parsed = createBoundedMap<string, { text: string; book: BookRecord }>(options.maxEntries ?? 10_000);
  const books = createCacheAside<string, BookRecord>(cache, {
    key: bookKey,
    encode: JSON.stringify,
    decode(text, name) {
      const known = parsed.get(name);
      if (known !== undefined && known.text === text) return known.book;
      const book = parseBook(text, name);
      if (book !== undefined) parsed.set(name, { text, book });
      return book;
    },
    load: async (name) => store.findByName(name),
    expiry: options.expiry,
    notFoundExpiry: options.notFoundExpiry,
    random: options.random,
    onLookup: options.onLookup,
    // a hit is answered at once; misses for one name share one load
    share: "load",
  });
  // a warm name is answered in the same tick: no promise between the handler and its answer
  return { findByName: (name) => books.peek(name) ?? books.get(name) };
}

function parseBook(text: string, name: string): BookRecord | undefined {
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    if (v.name === name && typeof v.count === "number" && Number.isSafeInteger(v.count)) return Object.freeze({ name, count: v.count });
  } catch {
    // a corrupt entry is a miss
  }
  return undefined;
}
