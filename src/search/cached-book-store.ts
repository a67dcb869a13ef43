import { jitter, type Cache } from "../cache/cache.js";
import { createSingleFlight } from "../cache/single-flight.js";
import type { BookRecord, BookStore } from "./book-store.js";

/** `cache:book:name:<name>` holds the row, or the not-found placeholder. */
export const bookKey = (name: string) => `cache:book:name:${name}`;
const notFound = "*";

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
  const flight = createSingleFlight();
  // the parsed form of each entry last read, by name: a hit returns the same text, not parsed again
  const parsed = new Map<string, { text: string; book: BookRecord | typeof notFound }>();
  const maxParsed = options.maxEntries ?? 10_000;
  const read = (text: string | undefined, name: string) => {
    if (text === undefined) return undefined;
    const known = parsed.get(name);
    if (known !== undefined && known.text === text) return known.book;
    const book = parseBook(text, name);
    if (book === undefined) return undefined;
    if (parsed.size >= maxParsed) parsed.clear();
    parsed.set(name, { text, book });
    return book;
  };
  const load = (name: string) =>
    flight(bookKey(name), async () => {
      options.onLookup?.("miss");
      const row = await store.findByName(name);
      if (row === undefined) await cache.set(bookKey(name), notFound, options.notFoundExpiry);
      else await cache.set(bookKey(name), JSON.stringify(row), jitter(options.expiry, options.random));
      return row;
    });
  return {
    // a hit is answered at once; misses for one name share one load (single flight)
    async findByName(name) {
      const cached = read(await cache.get(bookKey(name)), name);
      if (cached === undefined) return load(name);
      options.onLookup?.("hit");
      return cached === notFound ? undefined : cached;
    },
  };
}

function parseBook(text: string, name: string): BookRecord | typeof notFound | undefined {
  if (text === notFound) return notFound;
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    if (v.name === name && typeof v.count === "number" && Number.isSafeInteger(v.count)) return Object.freeze({ name, count: v.count });
  } catch {
    // a corrupt entry is a miss
  }
  return undefined;
}
