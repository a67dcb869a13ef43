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
}

/** Why a token was refused; logged, never shown to the caller. */
export type TokenRejection =
  | "missing"
  | "malformed"
  | "bad_algorithm"
  | "bad_signature"
  | "expired"
  | "not_yet_valid"
  | "bad_claims";

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
  /** Signs a token for `userId` with `exp = iat + AccessExpire`, `iat` and `jti`. */
  issue(userId: number): Promise<IssuedToken>;
  /** Verifies a token and returns its claims, or throws {@link TokenError}. */
  verify(token: string): Promise<AccessClaims>;
}

/** Leeway for clock skew between issuer and verifier, in seconds. */
export const clockToleranceSeconds = 30;

/**
 * Creates the token service. The key is imported once. Verification first checks the token's
 * syntax (canonical base64url, size) and parses header and payload strictly (no duplicate
 * members, bounded depth), then pins HS256, requires `exp`, refuses `aud` and `iss` (none is
 * configured, RFC 7519 section 4.1.3), a lifetime beyond `accessExpire`, and an `iat` in the
 * future.
 *
 * @example
 * const tokens = await createTokenService({ secret, accessExpire: 86400, clock: systemClock });
 * const { token } = await tokens.issue(1);
 * const claims = await tokens.verify(token); // claims.userId === 1
 */
export async function createTokenService(options: {
  secret: string;
  accessExpire: number;
  clock: Clock;
}): Promise<TokenService> {
  const key = await webcrypto.subtle.importKey(
    "raw",
    Buffer.from(options.secret, "utf8"),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
  const { accessExpire, clock } = options;

  return {
    async issue(userId) {
      const iat = epochSeconds(clock);
      const exp = iat + accessExpire;
      const token = await new SignJWT({ userId })
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .setJti(randomBytes(16).toString("base64url"))
        .sign(key);
      return { token, iat, exp };
    },

    async verify(token) {
      // Everything an attacker controls is checked strictly before any cryptography.
      if (!isCanonicalCompactJws(token)) throw new TokenError("malformed");
      const [h, p] = token.split(".", 2) as [string, string];
      const header = parseStrictJsonObject(Buffer.from(h, "base64url"));
      const payload = parseStrictJsonObject(Buffer.from(p, "base64url"));
      if (header === undefined || payload === undefined) throw new TokenError("malformed");
      if (header.alg !== "HS256") throw new TokenError("bad_algorithm");
      try {
        await jwtVerify(token, key, {
          algorithms: ["HS256"],
          requiredClaims: ["exp"],
          clockTolerance: clockToleranceSeconds,
          currentDate: new Date(clock.now()),
        });
      } catch (err) {
        // jose's claim errors carry the payload: keep only the kind.
        throw new TokenError(rejectionOf(err));
      }
      return readClaims(header, payload, epochSeconds(clock), accessExpire);
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
  now: number,
  accessExpire: number,
): AccessClaims {
  if (header.typ !== undefined && (typeof header.typ !== "string" || header.typ.toUpperCase() !== "JWT")) {
    throw new TokenError("bad_claims");
  }
  // claims this service never issues and has no configuration to check
  if (Object.hasOwn(payload, "aud") || Object.hasOwn(payload, "iss")) throw new TokenError("bad_claims");
  const { exp, iat, userId, jti } = payload;
  if (typeof exp !== "number" || !Number.isSafeInteger(exp)) throw new TokenError("bad_claims");
  if (iat !== undefined && (typeof iat !== "number" || !Number.isSafeInteger(iat))) throw new TokenError("bad_claims");
  const issuedAt = (iat as number | undefined) ?? now;
  if (issuedAt > now + clockToleranceSeconds) throw new TokenError("not_yet_valid");
  if (exp - issuedAt > accessExpire + clockToleranceSeconds) throw new TokenError("bad_claims");
  if (typeof userId !== "number" || !Number.isSafeInteger(userId) || userId <= 0) throw new TokenError("bad_claims");
  if (jti !== undefined && typeof jti !== "string") throw new TokenError("bad_claims");
  return Object.freeze({ userId, iat: iat as number | undefined, exp, jti: jti as string | undefined });
}

/** A short, non-reversible tag of a token for logs, so rejections can be correlated. */
export function tokenTag(token: string): string {
  return createHash("sha256").update(token).digest("base64url").slice(0, 12);
}
