import type { Kysely } from "kysely";
import { AppError } from "../errors.js";
import type { Database } from "../db/schema.js";

/** A user as the logic sees it. */
export interface UserRecord {
  readonly id: number;
  readonly username: string;
  readonly passwordHash: string;
  readonly name: string;
  readonly gender: string;
}

/** What to store for a new user; the password is already hashed. */
export type NewUser = Omit<UserRecord, "id">;

/** Queries on the `user` table. */
export interface UserStore {
  findByUsername(username: string): Promise<UserRecord | undefined>;
  /** Inserts a user and returns its id; `already_exists` when the username is taken. */
  insert(user: NewUser): Promise<number>;
}

/** Creates the kysely-backed user store. */
export function createUserStore(db: Kysely<Database>): UserStore {
  return {
    async findByUsername(username) {
      const row = await db
        .selectFrom("user")
        .select(["id", "username", "password_hash", "name", "gender"])
        .where("username", "=", username)
        .executeTakeFirst();
      if (row === undefined) return undefined;
      return {
        id: Number(row.id),
        username: row.username,
        passwordHash: row.password_hash,
        name: row.name,
        gender: row.gender,
      };
    },
    async insert(user) {
      try {
        const result = await db
          .insertInto("user")
          .values({ username: user.username, password_hash: user.passwordHash, name: user.name, gender: user.gender })
          .executeTakeFirstOrThrow();
        return Number(result.insertId);
      } catch (err) {
        if (isUniqueViolation(err)) throw new AppError("already_exists", `user ${user.username} already exists`);
        throw err;
      }
    },
  };
}

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "ER_DUP_ENTRY";
}
