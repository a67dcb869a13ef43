import { AppError } from "../errors.js";
import type { BookStore } from "./book-store.js";

/** Longest book name accepted, in characters. */
export const maxBookNameLength = 255;

/** Looks a book up by exact name; an unknown book has a count of 0. */
export async function searchBook(deps: { books: BookStore }, name: string): Promise<{ name: string; count: number }> {
  if (name.length === 0) throw new AppError("invalid_argument", "name: must not be empty");
  if (name.length > maxBookNameLength) {
    throw new AppError("invalid_argument", `name: must be at most ${maxBookNameLength} characters`);
  }
  const book = await deps.books.findByName(name);
  return { name, count: book?.count ?? 0 };
}
