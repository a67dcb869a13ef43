import { createKeyRing, createJwtCodec, hmacKey, secretKeyId as saltedKeyId, type KeySet, type SigningKey, type VerificationKey } from "protogate/jwt";
import type { JWK } from "jose";
import type { VerifiedToken } from "protogate";
import type { Clock } from "../clock.js";
import { AccessClaimsSchema, RefreshClaimsSchema, type AccessClaims } from "../gen/user/v1/claims_pb.js";

/** A verified access token: its {@link AccessClaims} and registered claims. */
export type AccessToken = VerifiedToken<AccessClaims>;

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

/** Issues and verifies the bookstore's access and refresh tokens with one key ring. */
export interface TokenService {
  /**
   * Signs an access token for `userId` with `exp = iat + AccessExpire`, `iat`, `jti`, and
   * `roles` and `sid` (its session) when given. Throws when this process holds no signing key.
   */
  issue(userId: number, options?: { roles?: readonly string[]; sid?: string }): Promise<IssuedToken>;
  /** Verifies an access token, or throws protogate's `AuthError`. */
  verify(token: string): Promise<AccessToken>;
  /** Signs a refresh token (header `typ: refresh+jwt`) of session `sid`, valid for RefreshExpire. */
  issueRefresh(userId: number, sid: string): Promise<IssuedToken & { jti: string }>;
  /** Verifies a refresh token's signature and claims (not whether it was used), or throws `AuthError`. */
  verifyRefresh(token: string): Promise<RefreshClaims>;
  /** The public keys of the ring as JWKs (none for HS256 secrets), for `/.well-known/jwks.json`. */
  publicJwks(): JWK[];
  /** Changes whenever the verification keys do (a remote JWKS rotated or dropped one). */
  keysVersion(): number;
}

/** The `typ` header of refresh tokens; access tokens carry `JWT` (or, from go-zero, nothing). */
export const refreshTokenType = "refresh+jwt";

/** The key id of an HS256 secret, salted with the application's name (as every token so far carries it). */
export const secretKeyId = (secret: string): string => saltedKeyId(secret, "bookstore");

/** Options of {@link createTokenService}. */
export interface TokenServiceOptions {
  /** An HS256 secret that signs new tokens and verifies. */
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
  issuer?: string;
  audience?: string;
  /** Leeway for `exp`, `nbf` and `iat`, in seconds (default 30, at most 60). */
  clockTolerance?: number;
}

/** What both kinds of token must hold beyond their schema: a positive user id, and a session id that is not empty. */
const validClaims = (claims: { userId: bigint; sid?: string }) => claims.userId > 0n && claims.sid !== "";

/**
 * Creates the token service: two protogate codecs on one key ring, access tokens decoding into
 * {@link AccessClaims} (claims it does not declare are ignored, as go-zero tokens may carry
 * more) and refresh tokens into `RefreshClaims` (nothing undeclared accepted).
 *
 * @example
 * const tokens = await createTokenService({ secret, accessExpire: 86400, clock: systemClock });
 * const { token } = await tokens.issue(1);
 * const { claims } = await tokens.verify(token); // claims.userId === 1n
 */
export async function createTokenService(options: TokenServiceOptions): Promise<TokenService> {
  const { accessExpire, clock, issuer, audience, clockTolerance } = options;
  const refreshExpire = options.refreshExpire ?? 30 * 24 * 3600;
  const hmac = (secret: string) => hmacKey(secret, { kid: secretKeyId(secret) });
  const signing = options.signing ?? (options.secret !== undefined ? await hmac(options.secret) : undefined);
  const verifyKeys = [...(options.previousSecret ? [(await hmac(options.previousSecret)).verify] : []), ...(options.verifyKeys ?? [])];
  const keys = createKeyRing({ signing, verifyKeys, remote: options.remoteKeys });
  const common = { keys, clock, issuer, audience, clockTolerance };
  const access = createJwtCodec({
    ...common,
    claims: AccessClaimsSchema,
    unknownClaims: "ignore",
    lifetime: accessExpire,
    check: validClaims,
  });
  const refresh = createJwtCodec({
    ...common,
    claims: RefreshClaimsSchema,
    unknownClaims: "reject",
    lifetime: refreshExpire,
    type: refreshTokenType,
    requireJti: true,
    check: validClaims,
  });
  return {
    async issue(userId, extra) {
      const { token, iat, exp } = await access.issue({ userId: BigInt(userId), roles: [...(extra?.roles ?? [])], sid: extra?.sid });
      return { token, iat, exp };
    },
    verify: access.verify,
    issueRefresh: (userId, sid) => refresh.issue({ userId: BigInt(userId), sid }),
    async verifyRefresh(token) {
      const { claims, jti, exp } = await refresh.verify(token);
      return Object.freeze({ userId: Number(claims.userId), sid: claims.sid, jti: jti!, exp });
    },
    publicJwks: () => keys.publicJwks(),
    keysVersion: () => keys.version(),
  };
}
