import { createHash, randomBytes, webcrypto } from "node:crypto";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { epochSeconds, type Clock } from "../clock.js";
import { parseStrictJsonObject } from "./strict-json.js";
import { isCanonicalCompactJws } from "./token-syntax.js";

/** The verified claims of an access token, copied field by field from the payload. */
export interface AccessClaims {
  /** The user the token was issued to (go-zero's `ctx.Value("userId")`). */
  readonly userId: number;
  /** Issued at, seconds since the Unix epoch, when the token says. */
  readonly iat: number | undefined;
  /** Expires at, seconds since the Unix epoch. */
  readonly exp: number;
  /** Unique token id. */
  readonly jti: string | undefined;
  /** Roles the user had when the token was issued (claim `roles`); empty when none. */
  readonly roles: readonly string[];
}

/** Why a token was refused; logged, never shown to the caller. */
export type TokenRejection =
  | "missing"
  | "malformed"
  | "bad_algorithm"
  | "bad_signature"
  | "expired"
  | "not_yet_valid"
  | "bad_claims"
  | "revoked";

/** A refused token, with the reason for the log. Its message never carries token or claims. */
export class TokenError extends Error {
  override name = "TokenError";
  readonly reason: TokenRejection;
  constructor(reason: TokenRejection) {
    super(`access token rejected: ${reason}`);
    this.reason = reason;
  }
}

/** An issued access token and its times. */
export interface IssuedToken {
  readonly token: string;
  readonly iat: number;
  readonly exp: number;
}

/** Issues and verifies HS256 access tokens with one shared secret. */
export interface TokenService {
  /** Signs a token for `userId` with `exp = iat + AccessExpire`, `iat`, `jti`, and `roles` when any. */
  issue(userId: number, options?: { roles?: readonly string[] }): Promise<IssuedToken>;
  /** Verifies a token and returns its claims, or throws {@link TokenError}. */
  verify(token: string): Promise<AccessClaims>;
}

/** Default leeway for clock skew between issuer and verifier, in seconds (at most 60). */
export const clockToleranceSeconds = 30;

/** Options of {@link createTokenService}. */
export interface TokenServiceOptions {
  /** The current HS256 secret: signs new tokens, verifies. */
  secret: string;
  /**
   * The secret before the last rotation (go-zero's `PrevAccessSecret`): still verifies tokens
   * it signed, never signs. Remove it once those tokens have expired.
   */
  previousSecret?: string;
  accessExpire: number;
  clock: Clock;
  /** Set as `iss` on issue and required on verify; unset, a token carrying `iss` is refused. */
  issuer?: string;
  /** Set as `aud` on issue and required on verify; unset, a token carrying `aud` is refused. */
  audience?: string;
  /** Leeway for `exp`, `nbf` and `iat`, in seconds (default 30, at most 60). */
  clockTolerance?: number;
}

interface Key {
  readonly kid: string;
  readonly key: webcrypto.CryptoKey;
}

/** A key id for an HS256 secret: a short hash, which reveals nothing of a high-entropy secret. */
export function secretKeyId(secret: string): string {
  return createHash("sha256").update("bookstore kid\0").update(secret).digest("base64url").slice(0, 16);
}

async function importKey(secret: string): Promise<Key> {
  const key = await webcrypto.subtle.importKey("raw", Buffer.from(secret, "utf8"), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
  return { kid: secretKeyId(secret), key };
}

/**
 * Creates the token service. Keys are imported once; every token names its key by `kid`.
 * Verification first checks the token's syntax (canonical base64url, size) and parses header
 * and payload strictly (no duplicate members, bounded depth), then pins HS256, picks the key by
 * `kid` (a token without one, as go-zero makes, is tried with the current then the previous
 * secret), requires `exp`, checks `iss`/`aud` (refused when not configured, RFC 7519 section
 * 4.1.3), caps the lifetime at `accessExpire`, and refuses an `iat` in the future.
 *
 * @example
 * const tokens = await createTokenService({ secret, accessExpire: 86400, clock: systemClock });
 * const { token } = await tokens.issue(1);
 * const claims = await tokens.verify(token); // claims.userId === 1
 */
export async function createTokenService(options: TokenServiceOptions): Promise<TokenService> {
  const { accessExpire, clock, issuer, audience } = options;
  const tolerance = Math.min(60, Math.max(0, options.clockTolerance ?? clockToleranceSeconds));
  const current = await importKey(options.secret);
  const keys: Key[] = [current];
  if (options.previousSecret !== undefined && options.previousSecret !== "") keys.push(await importKey(options.previousSecret));

  const verifyWith = async (token: string, key: Key) => {
    await jwtVerify(token, key.key, {
      algorithms: ["HS256"],
      requiredClaims: ["exp"],
      clockTolerance: tolerance,
      currentDate: new Date(clock.now()),
      issuer,
      audience,
    });
  };

  return {
    async issue(userId, extra) {
      const iat = epochSeconds(clock);
      const exp = iat + accessExpire;
      const roles = extra?.roles ?? [];
      const jwt = new SignJWT(roles.length > 0 ? { userId, roles: [...roles] } : { userId })
        .setProtectedHeader({ alg: "HS256", typ: "JWT", kid: current.kid })
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .setJti(randomBytes(16).toString("base64url"));
      if (issuer !== undefined) jwt.setIssuer(issuer);
      if (audience !== undefined) jwt.setAudience(audience);
      return { token: await jwt.sign(current.key), iat, exp };
    },

    async verify(token) {
      // Everything an attacker controls is checked strictly before any cryptography.
      if (!isCanonicalCompactJws(token)) throw new TokenError("malformed");
      const [h, p] = token.split(".", 2) as [string, string];
      const header = parseStrictJsonObject(Buffer.from(h, "base64url"));
      const payload = parseStrictJsonObject(Buffer.from(p, "base64url"));
      if (header === undefined || payload === undefined) throw new TokenError("malformed");
      if (header.alg !== "HS256") throw new TokenError("bad_algorithm");
      let candidates = keys;
      if (header.kid !== undefined) {
        const named = keys.find((k) => k.kid === header.kid);
        if (named === undefined) throw new TokenError("bad_signature"); // unknown or retired key
        candidates = [named];
      }
      let failure: unknown;
      for (const key of candidates) {
        try {
          await verifyWith(token, key);
          failure = undefined;
          break;
        } catch (err) {
          failure = err;
          // only a signature mismatch is worth trying the next secret for
          if (!(err instanceof joseErrors.JWSSignatureVerificationFailed)) break;
        }
      }
      // jose's claim errors carry the payload: keep only the kind.
      if (failure !== undefined) throw new TokenError(rejectionOf(failure));
      return readClaims(header, payload, { now: epochSeconds(clock), accessExpire, tolerance, issuer, audience });
    },
  };
}

function rejectionOf(err: unknown): TokenRejection {
  if (err instanceof joseErrors.JWTExpired) return "expired";
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return "bad_signature";
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return "bad_algorithm";
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    return err.claim === "nbf" ? "not_yet_valid" : "bad_claims";
  }
  return "malformed";
}

function readClaims(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  rules: { now: number; accessExpire: number; tolerance: number; issuer?: string; audience?: string },
): AccessClaims {
  const { now, accessExpire, tolerance } = rules;
  if (header.typ !== undefined && (typeof header.typ !== "string" || header.typ.toUpperCase() !== "JWT")) {
    throw new TokenError("bad_claims");
  }
  // claims this service has no configuration to check (jose checked the configured ones)
  if (rules.audience === undefined && Object.hasOwn(payload, "aud")) throw new TokenError("bad_claims");
  if (rules.issuer === undefined && Object.hasOwn(payload, "iss")) throw new TokenError("bad_claims");
  const { exp, iat, userId, jti } = payload;
  if (typeof exp !== "number" || !Number.isSafeInteger(exp)) throw new TokenError("bad_claims");
  if (iat !== undefined && (typeof iat !== "number" || !Number.isSafeInteger(iat))) throw new TokenError("bad_claims");
  const issuedAt = (iat as number | undefined) ?? now;
  if (issuedAt > now + tolerance) throw new TokenError("not_yet_valid");
  if (exp - issuedAt > accessExpire + tolerance) throw new TokenError("bad_claims");
  if (typeof userId !== "number" || !Number.isSafeInteger(userId) || userId <= 0) throw new TokenError("bad_claims");
  if (jti !== undefined && typeof jti !== "string") throw new TokenError("bad_claims");
  const roles = payload.roles ?? [];
  if (!Array.isArray(roles) || roles.length > 32 || !roles.every((r) => typeof r === "string")) throw new TokenError("bad_claims");
  return Object.freeze({ userId, iat: iat as number | undefined, exp, jti: jti as string | undefined, roles: Object.freeze([...roles]) as readonly string[] });
}

/** A short, non-reversible tag of a token for logs, so rejections can be correlated. */
export function tokenTag(token: string): string {
  return createHash("sha256").update(token).digest("base64url").slice(0, 12);
}
