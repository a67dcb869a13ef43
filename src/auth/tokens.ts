import { createHash, randomBytes } from "node:crypto";
import { SignJWT, type JWK } from "jose";
import { epochSeconds, type Clock } from "../clock.js";
import { parseStrictJsonObject } from "./strict-json.js";
import { isCanonicalCompactJws } from "./token-syntax.js";
import { firstKnowing, localKeySet, type KeySet } from "./key-set.js";
import { algorithms, hmacKey, type SigningKey, type VerificationKey } from "./keys.js";

export { secretKeyId } from "./keys.js";

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
  /** The session (refresh family) the token was issued in, when it was (claim `sid`). */
  readonly sid: string | undefined;
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
  | "unknown_key"
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

/** The verified claims of a refresh token. */
export interface RefreshClaims {
  readonly userId: number;
  /** The session (refresh family) the token belongs to. */
  readonly sid: string;
  readonly jti: string;
  readonly exp: number;
}

/** Issues and verifies access and refresh tokens with a key ring. */
export interface TokenService {
  /**
   * Signs an access token for `userId` with `exp = iat + AccessExpire`, `iat`, `jti`, and
   * `roles` and `sid` (its session) when given. Throws when this process holds no signing key.
   */
  issue(userId: number, options?: { roles?: readonly string[]; sid?: string }): Promise<IssuedToken>;
  /** Verifies an access token and returns its claims, or throws {@link TokenError}. */
  verify(token: string): Promise<AccessClaims>;
  /** Signs a refresh token (header `typ: refresh+jwt`) of session `sid`, valid for RefreshExpire. */
  issueRefresh(userId: number, sid: string): Promise<IssuedToken & { jti: string }>;
  /** Verifies a refresh token's signature and claims (not whether it was used), or throws {@link TokenError}. */
  verifyRefresh(token: string): Promise<RefreshClaims>;
  /** The public keys of the ring as JWKs (none for HS256 secrets), for `/.well-known/jwks.json`. */
  publicJwks(): JWK[];
  /** Changes whenever the verification keys do (a remote JWKS rotated or dropped one). */
  keysVersion(): number;
}

/** Default leeway for clock skew between issuer and verifier, in seconds (at most 60). */
export const clockToleranceSeconds = 30;

/** The `typ` header of refresh tokens; access tokens carry `JWT` (or, from go-zero, nothing). */
export const refreshTokenType = "refresh+jwt";

/** Options of {@link createTokenService}. */
export interface TokenServiceOptions {
  /** An HS256 secret that signs new tokens and verifies (shorthand for `signing: await hmacKey(secret)`). */
  secret?: string;
  /**
   * The secret before the last rotation (go-zero's `PrevAccessSecret`): still verifies tokens
   * it signed, never signs. Remove it once those tokens have expired.
   */
  previousSecret?: string;
  /** The key that signs new tokens (and verifies them); without one, this service only verifies. */
  signing?: SigningKey;
  /** Earlier keys that still verify until they are removed (retired). */
  verifyKeys?: readonly VerificationKey[];
  /** Keys from elsewhere (a remote JWKS), consulted for a `kid` the ring does not hold. */
  remoteKeys?: KeySet;
  accessExpire: number;
  /** Lifetime of refresh tokens, in seconds (default 30 days). */
  refreshExpire?: number;
  clock: Clock;
  /** Set as `iss` on issue and required on verify; unset, a token carrying `iss` is refused. */
  issuer?: string;
  /** Set as `aud` on issue and required on verify; unset, a token carrying `aud` is refused. */
  audience?: string;
  /** Leeway for `exp`, `nbf` and `iat`, in seconds (default 30, at most 60). */
  clockTolerance?: number;
}

/**
 * Creates the token service. Keys are imported once; every token names its key by `kid`, and
 * each key verifies with its one algorithm only (never the algorithm a token asks for). jose
 * signs; verification is node:crypto over the strictly parsed token (jose's verifier, through
 * WebCrypto, costs about seven times as much per token and would parse it a second time).
 * Verification first checks the token's syntax (canonical base64url, size) and parses header
 * and payload strictly (no duplicate members, bounded depth), then picks the key by `kid` (a
 * token without one, as go-zero makes, is tried with every key of its algorithm: the current
 * then the previous secret), requires the header's `alg` to be that key's, requires `exp`,
 * checks `iss`/`aud` (refused when not configured, RFC 7519 section 4.1.3), caps the lifetime,
 * refuses an `iat` in the future, and keeps access and refresh tokens apart by `typ`. Headers
 * such as `jwk`, `jku`, `x5u` and `x5c` are never used to find a key.
 *
 * @example
 * const tokens = await createTokenService({ secret, accessExpire: 86400, clock: systemClock });
 * const { token } = await tokens.issue(1);
 * const claims = await tokens.verify(token); // claims.userId === 1
 */
export async function createTokenService(options: TokenServiceOptions): Promise<TokenService> {
  const { accessExpire, clock, issuer, audience } = options;
  const refreshExpire = options.refreshExpire ?? 30 * 24 * 3600;
  const tolerance = Math.min(60, Math.max(0, options.clockTolerance ?? clockToleranceSeconds));
  const signing = options.signing ?? (options.secret !== undefined ? await hmacKey(options.secret) : undefined);
  const ring: VerificationKey[] = signing ? [signing.verify] : [];
  if (options.previousSecret !== undefined && options.previousSecret !== "") ring.push((await hmacKey(options.previousSecret)).verify);
  ring.push(...(options.verifyKeys ?? []));
  const local = localKeySet(ring);
  const keys = options.remoteKeys ? firstKnowing([local, options.remoteKeys]) : local;

  const sign = async (typ: string, claims: Record<string, unknown>, lifetime: number) => {
    if (signing === undefined) throw new Error("this service holds no signing key");
    const iat = epochSeconds(clock);
    const exp = iat + lifetime;
    const jti = randomBytes(16).toString("base64url");
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: signing.alg, typ, kid: signing.kid })
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(jti);
    if (issuer !== undefined) jwt.setIssuer(issuer);
    if (audience !== undefined) jwt.setAudience(audience);
    return { token: await jwt.sign(signing.sign), iat, exp, jti };
  };

  // every token of one key has the same header: remember a few parsed ones (frozen), by segment
  const headers = new Map<string, Readonly<Record<string, unknown>>>();
  const parseHeader = (segment: string) => {
    const known = headers.get(segment);
    if (known !== undefined) return known;
    const parsed = parseStrictJsonObject(Buffer.from(segment, "base64url"));
    if (parsed === undefined) return undefined;
    if (headers.size >= 32) headers.clear();
    headers.set(segment, Object.freeze(parsed));
    return parsed;
  };

  const verifySignature = async (token: string, refresh: boolean) => {
    // Everything an attacker controls is checked strictly before any cryptography.
    if (!isCanonicalCompactJws(token)) throw new TokenError("malformed");
    const [h, p] = token.split(".", 2) as [string, string];
    const header = parseHeader(h);
    const payload = parseStrictJsonObject(Buffer.from(p, "base64url"));
    if (header === undefined || payload === undefined) throw new TokenError("malformed");
    const { alg, kid, typ } = header;
    if (typeof alg !== "string" || !(algorithms as readonly string[]).includes(alg)) throw new TokenError("bad_algorithm");
    if (kid !== undefined && (typeof kid !== "string" || kid === "")) throw new TokenError("malformed");
    if (refresh ? typ !== refreshTokenType : !isAccessType(typ)) throw new TokenError("bad_claims");
    // no critical extension is understood here (RFC 7515 section 4.1.11), nor unencoded payloads
    if (Object.hasOwn(header, "crit") || Object.hasOwn(header, "b64")) throw new TokenError("malformed");
    const found = keys.candidates(kid, alg);
    const named = Array.isArray(found) ? found : await found;
    // no key of this kid (unknown or retired), or the key is another algorithm's (confusion)
    if (named.length === 0) throw new TokenError(kid === undefined ? "bad_algorithm" : "unknown_key");
    const candidates = named.filter((k) => k.alg === alg);
    if (candidates.length === 0) throw new TokenError("bad_algorithm");
    const lastDot = token.lastIndexOf(".");
    const signingInput = token.slice(0, lastDot);
    const signature = Buffer.from(token.slice(lastDot + 1), "base64url");
    if (!candidates.some((key) => key.verify(signingInput, signature))) throw new TokenError("bad_signature");
    const now = epochSeconds(clock);
    checkTimesAndAudience(payload, { now, tolerance, issuer, audience });
    return readCommonClaims(payload, { now, lifetime: refresh ? refreshExpire : accessExpire, tolerance, issuer, audience });
  };

  return {
    async issue(userId, extra) {
      const roles = extra?.roles ?? [];
      const claims: Record<string, unknown> = { userId };
      if (roles.length > 0) claims.roles = [...roles];
      if (extra?.sid !== undefined) claims.sid = extra.sid;
      const { token, iat, exp } = await sign("JWT", claims, accessExpire);
      return { token, iat, exp };
    },

    async verify(token) {
      const { payload, common } = await verifySignature(token, false);
      const roles = payload.roles ?? [];
      if (!Array.isArray(roles) || roles.length > 32 || !roles.every((r) => typeof r === "string")) throw new TokenError("bad_claims");
      const { sid } = payload;
      if (sid !== undefined && (typeof sid !== "string" || sid === "")) throw new TokenError("bad_claims");
      return Object.freeze({ ...common, sid: sid as string | undefined, roles: Object.freeze([...roles]) as readonly string[] });
    },

    issueRefresh: (userId, sid) => sign(refreshTokenType, { userId, sid }, refreshExpire),

    async verifyRefresh(token) {
      const { payload, common } = await verifySignature(token, true);
      const { sid } = payload;
      if (typeof sid !== "string" || sid === "" || common.jti === undefined) throw new TokenError("bad_claims");
      return Object.freeze({ userId: common.userId, sid, jti: common.jti, exp: common.exp });
    },

    publicJwks: () => local.publicJwks(),
    keysVersion: () => keys.version?.() ?? 0,
  };
}

function isAccessType(typ: unknown): boolean {
  return typ === undefined || (typeof typ === "string" && typ.toUpperCase() === "JWT");
}

/**
 * The registered claims every verifier checks (RFC 7519 section 4.1): `exp` present and not
 * passed, `nbf` not in the future (both with the tolerance), `iss` and `aud` equal to the
 * configured values when configured.
 */
function checkTimesAndAudience(
  payload: Record<string, unknown>,
  rules: { now: number; tolerance: number; issuer?: string; audience?: string },
): void {
  const { now, tolerance, issuer, audience } = rules;
  const { exp, nbf, iss, aud } = payload;
  if (typeof exp !== "number" || !Number.isFinite(exp)) throw new TokenError("bad_claims");
  if (exp <= now - tolerance) throw new TokenError("expired");
  if (nbf !== undefined) {
    if (typeof nbf !== "number" || !Number.isFinite(nbf)) throw new TokenError("bad_claims");
    if (nbf > now + tolerance) throw new TokenError("not_yet_valid");
  }
  if (issuer !== undefined && iss !== issuer) throw new TokenError("bad_claims");
  if (audience !== undefined && aud !== audience && !(Array.isArray(aud) && aud.includes(audience))) throw new TokenError("bad_claims");
}

function readCommonClaims(
  payload: Record<string, unknown>,
  rules: { now: number; lifetime: number; tolerance: number; issuer?: string; audience?: string },
) {
  const { now, lifetime, tolerance } = rules;
  // claims this service has no configuration to check (jose checked the configured ones)
  if (rules.audience === undefined && Object.hasOwn(payload, "aud")) throw new TokenError("bad_claims");
  if (rules.issuer === undefined && Object.hasOwn(payload, "iss")) throw new TokenError("bad_claims");
  const { exp, iat, userId, jti } = payload;
  if (typeof exp !== "number" || !Number.isSafeInteger(exp)) throw new TokenError("bad_claims");
  if (iat !== undefined && (typeof iat !== "number" || !Number.isSafeInteger(iat))) throw new TokenError("bad_claims");
  const issuedAt = (iat as number | undefined) ?? now;
  if (issuedAt > now + tolerance) throw new TokenError("not_yet_valid");
  if (exp - issuedAt > lifetime + tolerance) throw new TokenError("bad_claims");
  if (typeof userId !== "number" || !Number.isSafeInteger(userId) || userId <= 0) throw new TokenError("bad_claims");
  if (jti !== undefined && (typeof jti !== "string" || jti === "")) throw new TokenError("bad_claims");
  return { payload, common: { userId, iat: iat as number | undefined, exp, jti: jti as string | undefined } };
}

/** A short, non-reversible tag of a token for logs, so rejections can be correlated. */
export function tokenTag(token: string): string {
  return createHash("sha256").update(token).digest("base64url").slice(0, 12);
}
