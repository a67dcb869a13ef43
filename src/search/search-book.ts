import { then } from "../lib/then.js";
import type { BookStore } from "./book-store.js";

/** What {@link searchBook} needs: the catalog. */
export interface SearchBookDeps {
  books: Pick<BookStore, "findByName">;
}

/**
 * Looks a book up by exact name; an unknown book has a count of 0. The name's size is the
 * proto's rule (search.proto), checked before the call gets here.
 */
export function searchBook(deps: SearchBookDeps, name: string): { name: string; count: number } | Promise<{ name: string; count: number }> {
  return then(deps.books.findByName(name), (book) => ({ name, count: book?.count ?? 0 }));
}
