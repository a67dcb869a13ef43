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
  options: { expiry: number; notFoundExpiry: number; random?: () => number; onLookup?: (result: "hit" | "miss") => void },
): BookStore {
  const flight = createSingleFlight();
  return {
    findByName: (name) =>
      flight(bookKey(name), async () => {
        const cached = parseBook(await cache.get(bookKey(name)), name);
        if (cached !== undefined) {
          options.onLookup?.("hit");
          return cached === notFound ? undefined : cached;
        }
        options.onLookup?.("miss");
        const row = await store.findByName(name);
        if (row === undefined) await cache.set(bookKey(name), notFound, options.notFoundExpiry);
        else await cache.set(bookKey(name), JSON.stringify(row), jitter(options.expiry, options.random));
        return row;
      }),
  };
}

function parseBook(text: string | undefined, name: string): BookRecord | typeof notFound | undefined {
  if (text === undefined) return undefined;
  if (text === notFound) return notFound;
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    if (v.name === name && typeof v.count === "number" && Number.isSafeInteger(v.count)) return { name, count: v.count };
  } catch {
    // a corrupt entry is a miss
  }
  return undefined;
}
