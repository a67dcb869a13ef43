import { createHash, randomBytes } from "node:crypto";
import type { Cache } from "../cache/cache.js";
import { epochSeconds, type Clock } from "../clock.js";
import { AppError, isUnavailableError } from "../errors.js";
import type { Logger } from "../logger.js";
import { AuthError } from "protogate";
import type { AccessToken, TokenService } from "../auth/tokens.js";
import { sessionRevocation, tokenRevocation, userRevocation, type Revocation } from "../auth/revocations.js";
import type { RefreshRecord, SessionStore } from "./session-store.js";
import type { UserRecord, UserStore } from "./user-store.js";

/** An access token and a refresh token issued together. */
export interface TokenPair {
  readonly accessToken: string;
  readonly accessExpire: number;
  /** `iat + AccessExpire / 2`: when a client should refresh. */
  readonly refreshAfter: number;
  readonly refreshToken: string;
  readonly refreshExpire: number;
}

/** Refresh sessions: login starts one, Refresh rotates its token, Logout ends it. */
export interface Sessions {
  /**
   * Starts a session for a user who just proved who they are. While the database cannot be
   * written, returns an access token without a session (no refresh token) instead of failing.
   */
  start(user: UserRecord): Promise<TokenPair>;
  /**
   * Exchanges a refresh token for a new pair and retires it. A retired token presented again
   * (a replay, or a stolen copy) revokes the whole session, with every access token issued in
   * it. Anything wrong is `refresh_invalid`.
   */
  refresh(refreshToken: string): Promise<TokenPair>;
  /** Ends the caller's session (when the token has one) and revokes the token itself. */
  end(token: AccessToken): Promise<void>;
  /** Ends every session of a user (after a password change). */
  endAll(userId: number): Promise<number>;
}

/** Where revocations go: every instance's mirror (see `events/auth-events.ts`). */
export interface RevocationSink {
  /** Stores and spreads revocations; throws when they cannot be stored. */
  publish(...revocations: Revocation[]): Promise<void>;
  /** Live revocations this process holds. */
  readonly size: number;
}

/** `cache:refresh:<sha256>` holds a stored refresh token's record (never the token). */
export const refreshKey = (hash: string) => `cache:refresh:${hash}`;

const hashOf = (token: string) => createHash("sha256").update(token).digest("base64url");

/** Creates the session logic over its store, the cache, the token service and the revocations. */
export function createSessions(deps: {
  store: SessionStore;
  cache: Cache;
  tokens: Pick<TokenService, "issue" | "issueRefresh" | "verifyRefresh">;
  users: Pick<UserStore, "findById">;
  revocations: RevocationSink;
  clock: Clock;
  accessExpire: number;
  /** Past this many live revocations, a logout ends every session of the user instead of one. */
  maxRevocations: number;
  logger: Logger;
}): Sessions {
  const { store, cache, tokens, users, revocations, clock, accessExpire, maxRevocations, logger } = deps;

  const issuePair = async (user: UserRecord, sid: string) => {
    const [access, refresh] = await Promise.all([tokens.issue(user.id, { roles: user.roles, sid }), tokens.issueRefresh(user.id, sid)]);
    const hash = hashOf(refresh.token);
    const pair: TokenPair = {
      accessToken: access.token,
      accessExpire: access.exp,
      refreshAfter: access.iat + Math.floor(accessExpire / 2),
      refreshToken: refresh.token,
      refreshExpire: refresh.exp,
    };
    return { pair, hash, record: { sessionId: sid, userId: user.id, expiresAt: refresh.exp } };
  };
  const remember = (hash: string, record: RefreshRecord) =>
    cache.set(refreshKey(hash), JSON.stringify(record), Math.max(1, record.expiresAt - epochSeconds(clock)));
  const revokeSession = async (sid: string, now: number) => {
    await store.revoke(sid, now);
    await revocations.publish(sessionRevocation(sid, now, accessExpire));
  };

  return {
    async start(user) {
      const sid = randomBytes(16).toString("base64url");
      const { pair, hash, record } = await issuePair(user, sid);
      try {
        await store.start(sid, user.id, hash, record.expiresAt, epochSeconds(clock));
      } catch (err) {
        if (!isUnavailableError(err)) throw err;
        // the database is down but the user was found in the cache: an access token alone
        // (no session to refresh or end) rather than no login at all
        logger.warn({ userId: user.id, code: (err as { code?: unknown }).code }, "session store unavailable; login without a refresh token");
        const access = await tokens.issue(user.id, { roles: user.roles });
        return { ...pair, accessToken: access.token, accessExpire: access.exp, refreshAfter: access.iat + Math.floor(accessExpire / 2), refreshToken: "", refreshExpire: 0 };
      }
      await remember(hash, record);
      return pair;
    },

    async refresh(refreshToken) {
      let claims;
      try {
        claims = await tokens.verifyRefresh(refreshToken.trim());
      } catch (err) {
        if (err instanceof AuthError) throw new AppError("refresh_invalid", undefined, { cause: err.reason });
        throw err;
      }
      const hash = hashOf(refreshToken.trim());
      const record = parseRecord(await cache.get(refreshKey(hash))) ?? (await store.find(hash));
      if (record === undefined || record.sessionId !== claims.sid || record.userId !== claims.userId) {
        throw new AppError("refresh_invalid");
      }
      const now = epochSeconds(clock);
      if (!(await store.consume(hash, now))) {
        // used before, or its session was ended: either way the session is over
        await revokeSession(record.sessionId, now);
        logger.warn({ userId: record.userId, sessionTag: record.sessionId.slice(0, 8) }, "refresh token reused or session ended; session revoked");
        throw new AppError("refresh_invalid");
      }
      const user = await users.findById(record.userId);
      if (user === undefined) {
        await revokeSession(record.sessionId, now);
        throw new AppError("refresh_invalid");
      }
      const next = await issuePair(user, record.sessionId);
      await store.add(record.sessionId, user.id, next.hash, next.record.expiresAt);
      await remember(next.hash, next.record);
      return next.pair;
    },

    async end(token) {
      const { jti, exp } = token;
      const userId = Number(token.claims.userId);
      const { sid } = token.claims;
      const now = epochSeconds(clock);
      if (revocations.size >= maxRevocations) {
        // the mirror is full: one cut-off for the user (all their sessions) keeps it bounded
        logger.warn({ userId, revocations: revocations.size }, "revocation list full; logout ends every session of the user");
        await endAllSessions({ store, revocations, clock, accessExpire }, userId);
        return;
      }
      if (sid !== undefined) await store.revoke(sid, now);
      await revocations.publish(
        ...(jti !== undefined ? [tokenRevocation(jti, exp)] : []),
        ...(sid !== undefined ? [sessionRevocation(sid, now, accessExpire)] : []),
      );
    },

    endAll: (userId) => endAllSessions(deps, userId),
  };
}

/**
 * Ends every session of a user and every access token issued to them so far: the sessions in
 * the database (no refresh), a cut-off for the user's tokens (covering those without a session)
 * and each session by `sid` (tokens of the current second, which the cut-off cannot tell apart).
 * For maintenance commands too, which hold no signing key.
 */
export async function endAllSessions(
  deps: { store: Pick<SessionStore, "revokeUser">; revocations: Pick<RevocationSink, "publish">; clock: Clock; accessExpire: number },
  userId: number,
): Promise<number> {
  const now = epochSeconds(deps.clock);
  const sids = await deps.store.revokeUser(userId, now);
  await deps.revocations.publish(userRevocation(userId, now, deps.accessExpire), ...sids.map((sid) => sessionRevocation(sid, now, deps.accessExpire)));
  return sids.length;
}

function parseRecord(text: string | undefined): RefreshRecord | undefined {
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    if (typeof v.sessionId === "string" && typeof v.userId === "number" && typeof v.expiresAt === "number") {
      return { sessionId: v.sessionId, userId: v.userId, expiresAt: v.expiresAt };
    }
  } catch {
    // a corrupt entry is a miss
  }
  return undefined;
}
