import type { Clock } from "../clock.js";
import type { AccessToken } from "./tokens.js";

/**
 * One revocation: an access token by `jti`, a session by `sid`, or every token of a user issued
 * before `notBefore` (a password change, a deleted user). Pointless after `expiresAt`, when
 * nothing it covers can still be valid. Times are seconds since the Unix epoch.
 */
export interface Revocation {
  readonly kind: "jti" | "sid" | "user";
  readonly subject: string;
  /** For `user`: tokens with `iat` before this are void. 0 otherwise. */
  readonly notBefore: number;
  readonly expiresAt: number;
}

/**
 * The live revocations held in this process: checked on every call without a round trip, kept
 * current by whatever feeds {@link RevocationMirror.apply} (see `auth-events.ts`).
 */
export interface RevocationMirror {
  /** Adds a revocation (idempotent; a later `user` cut-off only ever moves forward). */
  apply(revocation: Revocation): void;
  /** Whether the token is revoked: by `jti`, by `sid`, or by its user's cut-off. */
  isRevoked(token: AccessToken): boolean;
  /** Live entries held (expired ones are dropped by {@link sweep}). */
  readonly size: number;
  /** Drops the entries that have expired. */
  sweep(): void;
}

/** Creates an empty mirror. */
export function createRevocationMirror(clock: Clock): RevocationMirror {
  // by the claim's own string (no key built per call); users have their own (a cut-off, not a flag)
  const jtis = new Map<string, number>();
  const sids = new Map<string, number>();
  const users = new Map<number, { notBefore: number; expiresAt: number }>();
  const now = () => clock.now() / 1000;
  const live = (expiresAt: number | undefined) => expiresAt !== undefined && expiresAt > now();
  return {
    apply(r) {
      if (r.kind === "user") {
        const id = Number(r.subject);
        if (!Number.isSafeInteger(id)) return;
        const old = users.get(id);
        users.set(id, {
          notBefore: Math.max(old?.notBefore ?? 0, r.notBefore),
          expiresAt: Math.max(old?.expiresAt ?? 0, r.expiresAt),
        });
        return;
      }
      const map = r.kind === "jti" ? jtis : sids;
      map.set(r.subject, Math.max(map.get(r.subject) ?? 0, r.expiresAt));
    },
    isRevoked({ claims, iat, jti }) {
      if (jti !== undefined && live(jtis.get(jti))) return true;
      const { sid } = claims;
      if (sid !== undefined && live(sids.get(sid))) return true;
      const cut = users.get(Number(claims.userId));
      // a token without iat cannot show it came after the cut-off
      return cut !== undefined && live(cut.expiresAt) && (iat === undefined || iat < cut.notBefore);
    },
    get size() {
      return jtis.size + sids.size + users.size;
    },
    sweep() {
      const t = now();
      for (const map of [jtis, sids]) for (const [k, e] of map) if (e <= t) map.delete(k);
      for (const [k, e] of users) if (e.expiresAt <= t) users.delete(k);
    },
  };
}

/** Seconds a session or user revocation outlasts the longest access token it covers. */
const margin = 60;

/** Revokes one access token until it expires. */
export const tokenRevocation = (jti: string, exp: number): Revocation => ({ kind: "jti", subject: jti, notBefore: 0, expiresAt: exp });

/** Revokes every access token of a session issued up to `now`. */
export const sessionRevocation = (sid: string, now: number, accessExpire: number): Revocation => ({
  kind: "sid",
  subject: sid,
  notBefore: 0,
  expiresAt: now + accessExpire + margin,
});

/** Revokes every access token of a user issued before `now` (a password change). */
export const userRevocation = (userId: number, now: number, accessExpire: number): Revocation => ({
  kind: "user",
  subject: String(userId),
  notBefore: now,
  expiresAt: now + accessExpire + margin,
});

/** Revokes every access token a user holds (the user was deleted and can get no new one). */
export const deletedUserRevocation = (userId: number, now: number, accessExpire: number): Revocation => {
  const until = now + accessExpire + margin;
  return { kind: "user", subject: String(userId), notBefore: until, expiresAt: until };
};
