import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";

/** A catalog entry. */
export interface BookRecord {
  readonly name: string;
  readonly count: number;
}

/** Queries on the `book` table. */
export interface BookStore {
  /** The entry named `name`, if any; a cache may answer with the entry itself rather than a promise. */
  findByName(name: string): BookRecord | undefined | Promise<BookRecord | undefined>;
}

/** Creates the kysely-backed book store. */
export function createBookStore(db: Kysely<Database>): BookStore {
  return {
    async findByName(name) {
      const row = await db.selectFrom("book").select(["name", "count"]).where("name", "=", name).executeTakeFirst();
      return row === undefined ? undefined : { name: row.name, count: Number(row.count) };
    },
  };
}
