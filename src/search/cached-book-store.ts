import { jitter } from "../cache/cache.js";
import { createSingleFlight } from "../cache/single-flight.js";
import type { Clock } from "../clock.js";
import { createExpiringLru } from "../lib/expiring-lru.js";
import type { BookRecord, BookStore } from "./book-store.js";

/**
 * The catalog through an in-process cache: entries by name for `expiry` seconds (jittered),
 * unknown names for `notFoundExpiry`, the least recently used dropped past `maxEntries`, one
 * load per name in flight. The catalog is written only by migrations, so nothing needs
 * invalidating and no process needs to hear of another's reads: a warm `Do` makes no database
 * query and no round trip, and gets its answer in the same tick (the cached record itself, no
 * promise).
 */
export function createCachedBookStore(
  store: BookStore,
  options: { expiry: number; notFoundExpiry: number; maxEntries: number; clock: Clock; random?: () => number; onLookup?: (result: "hit" | "miss") => void },
): BookStore {
  const { expiry, notFoundExpiry, random, onLookup } = options;
  // null: a name known to have no entry
  const books = createExpiringLru<string, BookRecord | null>(options);
  const flight = createSingleFlight();
  const load = async (name: string) => {
    onLookup?.("miss");
    const found = await store.findByName(name);
    // the name asked for, as the answer says it (a collation may match another spelling)
    const book = found === undefined ? null : Object.freeze({ name, count: found.count });
    books.set(name, book, jitter(book === null ? notFoundExpiry : expiry, random) * 1000);
    return book ?? undefined;
  };
  return {
    findByName(name) {
      const book = books.get(name);
      if (book === undefined) return flight(name, () => load(name));
      onLookup?.("hit");
      return book ?? undefined;
    },
  };
}
