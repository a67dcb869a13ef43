import type { BookRecord, BookStore } from "./book-store.js";

/** What {@link searchBook} needs: the catalog. */
export interface SearchBookDeps {
  books: Pick<BookStore, "findByName">;
}

/**
 * Looks a book up by exact name: the catalog's record (the same object for every lookup while it
 * is cached), or a count of 0 for an unknown book. The name's size is the proto's rule
 * (search.proto), checked before the call gets here.
 */
export function searchBook(deps: SearchBookDeps, name: string): BookRecord | Promise<BookRecord> {
  const book = deps.books.findByName(name);
  // a warm name is answered at once: no promise, and no closure made for it
  return book instanceof Promise ? book.then((b) => b ?? unknown(name)) : (book ?? unknown(name));
}

const unknown = (name: string): BookRecord => ({ name, count: 0 });
