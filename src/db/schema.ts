import type { ColumnType, Generated } from "kysely";

/** The `user` table: one registered user. */
export interface UserTable {
  id: Generated<number>;
  username: string;
  /** scrypt hash in PHC form; never the password. */
  password_hash: string;
  name: string;
  gender: string;
  /** Comma-separated role names, issued into tokens as the `roles` claim. */
  roles: string;
  /** A `Date` from MySQL, a string from SQLite; set by the database. */
  created_at: ColumnType<Date | string, never, never>;
}

/** The `book` table: the catalog that SearchService.Do looks up. */
export interface BookTable {
  id: Generated<number>;
  name: string;
  count: number;
}

/** Table name -> row type, for `Kysely<Database>`. */
export interface Database {
  user: UserTable;
  book: BookTable;
}
