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
  readonly roles: readonly string[];
}

/** A user as `bookstore user list` shows it: everything but the password hash. */
export type UserSummary = Omit<UserRecord, "passwordHash">;

/** What to store for a new user; the password is already hashed. */
export type NewUser = Omit<UserRecord, "id">;

/** Queries on the `user` table. */
export interface UserStore {
  findByUsername(username: string): Promise<UserRecord | undefined>;
  findById(id: number): Promise<UserRecord | undefined>;
  /** Inserts a user and returns its id; `already_exists` when the username is taken. */
  insert(user: NewUser): Promise<number>;
  /** Replaces a user's password hash; returns the id, `not_found` when there is no such user. */
  updatePassword(username: string, passwordHash: string): Promise<number>;
  /** Deletes a user; returns the id, `not_found` when there is no such user. */
  delete(username: string): Promise<number>;
  /**
   * Replaces a hash with a stronger one of the same password, only if it is still `oldHash`
   * (a password changed meanwhile wins); true when it did.
   */
  rehashPassword(id: number, oldHash: string, newHash: string): Promise<boolean>;
  /** Every user, by id, without password hashes. */
  list(): Promise<UserSummary[]>;
}

/** Creates the kysely-backed user store. */
export function createUserStore(db: Kysely<Database>): UserStore {
  return {
    async findByUsername(username) {
      return toRecord(await selectUser().where("username", "=", username).executeTakeFirst());
    },
    async findById(id) {
      return toRecord(await selectUser().where("id", "=", id).executeTakeFirst());
    },
    async insert(user) {
      try {
        const result = await db
          .insertInto("user")
          .values({ username: user.username, password_hash: user.passwordHash, name: user.name, gender: user.gender, roles: user.roles.join(",") })
          .executeTakeFirstOrThrow();
        return Number(result.insertId);
      } catch (err) {
        if (isUniqueViolation(err)) throw new AppError("already_exists", `user ${user.username} already exists`);
        throw err;
      }
    },
    async updatePassword(username, passwordHash) {
      return db.transaction().execute(async (trx) => {
        const row = await trx.selectFrom("user").select("id").where("username", "=", username).executeTakeFirst();
        if (row === undefined) throw new AppError("not_found", `no user ${username}`);
        await trx.updateTable("user").set({ password_hash: passwordHash }).where("id", "=", row.id).execute();
        return Number(row.id);
      });
    },
    async delete(username) {
      return db.transaction().execute(async (trx) => {
        const row = await trx.selectFrom("user").select("id").where("username", "=", username).executeTakeFirst();
        if (row === undefined) throw new AppError("not_found", `no user ${username}`);
        await trx.deleteFrom("user").where("id", "=", row.id).execute();
        return Number(row.id);
      });
    },
    async rehashPassword(id, oldHash, newHash) {
      const result = await db.updateTable("user").set({ password_hash: newHash }).where("id", "=", id).where("password_hash", "=", oldHash).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async list() {
      const rows = await db.selectFrom("user").select(["id", "username", "name", "gender", "roles"]).orderBy("id").execute();
      return rows.map((r) => ({ id: Number(r.id), username: r.username, name: r.name, gender: r.gender, roles: splitRoles(r.roles) }));
    },
  };

  function selectUser() {
    return db.selectFrom("user").select(["id", "username", "password_hash", "name", "gender", "roles"]);
  }
}

function toRecord(
  row: { id: number; username: string; password_hash: string; name: string; gender: string; roles: string } | undefined,
): UserRecord | undefined {
  if (row === undefined) return undefined;
  return { id: Number(row.id), username: row.username, passwordHash: row.password_hash, name: row.name, gender: row.gender, roles: splitRoles(row.roles) };
}

function splitRoles(roles: string): string[] {
  return roles === "" ? [] : roles.split(",");
}

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "ER_DUP_ENTRY";
}
