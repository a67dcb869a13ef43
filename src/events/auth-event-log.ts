import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import type { AuthEvent } from "./auth-event.js";

/** A stored event with its position in the log. */
export type LoggedAuthEvent = AuthEvent & { readonly id: number };

/** The `auth_event` table: an append-only log of revocations and unlocks, read in id order. */
export interface AuthEventLog {
  append(events: readonly AuthEvent[]): Promise<void>;
  /** Events after `id`, in id order, at most `limit` (expired ones too, until pruned). */
  after(id: number, limit: number): Promise<LoggedAuthEvent[]>;
  /** Deletes the events expired by `now`; returns how many. */
  prune(now: number): Promise<number>;
}

/** The kysely-backed log (same SQL on SQLite and MySQL). */
export function createAuthEventLog(db: Kysely<Database>): AuthEventLog {
  return {
    async append(events) {
      if (events.length === 0) return;
      await db
        .insertInto("auth_event")
        .values(events.map((e) => ({ kind: e.kind, subject: e.subject, not_before: e.notBefore, expires_at: e.expiresAt })))
        .execute();
    },
    async after(id, limit) {
      const rows = await db
        .selectFrom("auth_event")
        .select(["id", "kind", "subject", "not_before", "expires_at"])
        .where("id", ">", id)
        .orderBy("id")
        .limit(limit)
        .execute();
      return rows.map((r) => ({ id: Number(r.id), kind: r.kind, subject: r.subject, notBefore: Number(r.not_before), expiresAt: Number(r.expires_at) }) as LoggedAuthEvent);
    },
    async prune(now) {
      const result = await db.deleteFrom("auth_event").where("expires_at", "<=", now).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
