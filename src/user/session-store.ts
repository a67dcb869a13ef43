import { sql, type Kysely } from "kysely";
import type { Database } from "../db/schema.js";

/** A stored refresh token: never the token itself, only what it belongs to. */
export interface RefreshRecord {
  readonly sessionId: string;
  readonly userId: number;
  readonly expiresAt: number;
}

/** Refresh sessions (token families) and their tokens, by hash. Times are epoch seconds. */
export interface SessionStore {
  /** Starts a session with its first refresh token. */
  start(sessionId: string, userId: number, tokenHash: string, expiresAt: number, now: number): Promise<void>;
  find(tokenHash: string): Promise<RefreshRecord | undefined>;
  /**
   * Marks a token used if it is unused, unexpired, and its session is not revoked; true when
   * this call did (so of two concurrent uses exactly one wins).
   */
  consume(tokenHash: string, now: number): Promise<boolean>;
  /** Adds the next token of a session (after a consume). */
  add(sessionId: string, userId: number, tokenHash: string, expiresAt: number): Promise<void>;
  /** Revokes a session: none of its tokens refreshes again. */
  revoke(sessionId: string, now: number): Promise<void>;
  /** Revokes every session of a user (password change); returns their ids. */
  revokeUser(userId: number, now: number): Promise<string[]>;
  /** Deletes tokens expired before `now`, and sessions left without tokens; returns how many tokens. */
  prune(now: number): Promise<number>;
}

/** The kysely-backed session store (same SQL on SQLite and MySQL). */
export function createSessionStore(db: Kysely<Database>): SessionStore {
  const insertToken = (on: Kysely<Database>, tokenHash: string, sessionId: string, userId: number, expiresAt: number) =>
    on.insertInto("refresh_token").values({ token_hash: tokenHash, session_id: sessionId, user_id: userId, expires_at: expiresAt, used_at: null }).execute();
  return {
    async start(sessionId, userId, tokenHash, expiresAt, now) {
      await db.transaction().execute(async (trx) => {
        await trx.insertInto("refresh_session").values({ id: sessionId, user_id: userId, created_at: now, revoked_at: null }).execute();
        await insertToken(trx, tokenHash, sessionId, userId, expiresAt);
      });
    },
    async find(tokenHash) {
      const row = await db.selectFrom("refresh_token").select(["session_id", "user_id", "expires_at"]).where("token_hash", "=", tokenHash).executeTakeFirst();
      return row && { sessionId: row.session_id, userId: Number(row.user_id), expiresAt: Number(row.expires_at) };
    },
    async consume(tokenHash, now) {
      const result = await db
        .updateTable("refresh_token")
        .set({ used_at: now })
        .where("token_hash", "=", tokenHash)
        .where("used_at", "is", null)
        .where("expires_at", ">", now)
        .where(({ exists, selectFrom }) =>
          exists(
            selectFrom("refresh_session")
              .select(sql`1`.as("one"))
              .whereRef("refresh_session.id", "=", "refresh_token.session_id")
              .where("refresh_session.revoked_at", "is", null),
          ),
        )
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async add(sessionId, userId, tokenHash, expiresAt) {
      await insertToken(db, tokenHash, sessionId, userId, expiresAt);
    },
    async revoke(sessionId, now) {
      await db.updateTable("refresh_session").set({ revoked_at: now }).where("id", "=", sessionId).where("revoked_at", "is", null).execute();
    },
    async revokeUser(userId, now) {
      return db.transaction().execute(async (trx) => {
        const rows = await trx.selectFrom("refresh_session").select("id").where("user_id", "=", userId).where("revoked_at", "is", null).execute();
        await trx.updateTable("refresh_session").set({ revoked_at: now }).where("user_id", "=", userId).where("revoked_at", "is", null).execute();
        return rows.map((r) => r.id);
      });
    },
    async prune(now) {
      const result = await db.deleteFrom("refresh_token").where("expires_at", "<=", now).executeTakeFirst();
      await db
        .deleteFrom("refresh_session")
        .where(({ not, exists, selectFrom }) =>
          not(exists(selectFrom("refresh_token").select(sql`1`.as("one")).whereRef("refresh_token.session_id", "=", "refresh_session.id"))),
        )
        .execute();
      return Number(result.numDeletedRows);
    },
  };
}
