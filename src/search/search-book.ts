import { AppError } from "../errors.js";
import type { BookStore } from "./book-store.js";

/** Longest book name accepted, in characters. */
export const maxBookNameLength = 255;

/** What {@link searchBook} needs: the catalog. */
export interface SearchBookDeps {
  books: Pick<BookStore, "findByName">;
}

/** Looks a book up by exact name; an unknown book has a count of 0. */
export async function searchBook(deps: SearchBookDeps, name: string): Promise<{ name: string; count: number }> {
  if (name.length === 0) throw new AppError("invalid_argument", "name: must not be empty");
  if (name.length > maxBookNameLength) {
    throw new AppError("invalid_argument", `name: must be at most ${maxBookNameLength} characters`);
  }
  const book = await deps.books.findByName(name);
  return { name, count: book?.count ?? 0 };
}
