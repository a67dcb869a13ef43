import type { ColumnType, Generated } from "kysely";

/** The `user` table: one registered user. */
export interface UserTable {
  id: Generated<number>;
  username: string;
  /** argon2id (or, from earlier versions, scrypt) hash in PHC form; never the password. */
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

/** The `refresh_session` table: one login's family of refresh tokens. */
export interface RefreshSessionTable {
  id: string;
  user_id: number;
  /** Seconds since the Unix epoch. */
  created_at: number;
  revoked_at: number | null;
}

/** The `refresh_token` table: refresh tokens, by SHA-256 hash only. */
export interface RefreshTokenTable {
  token_hash: string;
  session_id: string;
  user_id: number;
  expires_at: number;
  used_at: number | null;
}

/**
 * The `auth_event` table: revocations (`jti`, `sid`, `user`: tokens of the user issued before
 * `not_before`) and account unlocks, in the order they happened; a row is pointless after
 * `expires_at` (seconds since the Unix epoch).
 */
export interface AuthEventTable {
  id: Generated<number>;
  kind: string;
  subject: string;
  not_before: number;
  expires_at: number;
}

/** Table name -> row type, for `Kysely<Database>`. */
export interface Database {
  user: UserTable;
  book: BookTable;
  refresh_session: RefreshSessionTable;
  refresh_token: RefreshTokenTable;
  auth_event: AuthEventTable;
}
