import { randomBytes } from "node:crypto";
import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import { SignJWT } from "jose";
import type { VerifiedToken } from "../context.js";
import { AuthError } from "../errors.js";
import { epochSeconds, systemClock, type Clock } from "../lib/clock.js";
import { parseStrictJsonObject } from "../lib/strict-json.js";
import { isCanonicalCompactJws } from "../lib/token-syntax.js";
import { assertClaimsMessage, ClaimsError, claimsFromJson, claimsToJson, type UnknownClaims } from "./claims.js";
import type { KeyRing } from "./key-ring.js";
import { algorithms } from "./keys.js";

/** Default leeway for clock skew between issuer and verifier, in seconds (at most 60). */
export const defaultClockTolerance = 30;

/** Options of {@link createJwtCodec}. */
export interface JwtCodecOptions<Desc extends DescMessage> {
  /** Signs (when it holds a signing key) and verifies. */
  keys: KeyRing;
  /** The message the application's claims are declared as, e.g. `AccessClaimsSchema`. */
  claims: Desc;
  /**
   * A payload member the message does not declare (other than the registered claims): refused
   * (`bad_claims`) or ignored. No default: choose.
   */
  unknownClaims: UnknownClaims;
  /** Lifetime of issued tokens in seconds; also the longest `exp - iat` accepted. */
  lifetime: number;
  /** The `typ` header set on issue and required on verify (any case). Default `JWT`. */
  type?: string;
  /** Accept tokens without `typ` (go-zero issues none). Default: true when `type` is `JWT`. */
  allowUntyped?: boolean;
  /** Set as `iss` on issue and required on verify; unset, a token carrying `iss` is refused. */
  issuer?: string;
  /** Set as `aud` on issue and required on verify; unset, a token carrying `aud` is refused (RFC 7519 section 4.1.3). */
  audience?: string;
  /** Refuse tokens without `jti`. Default false. */
  requireJti?: boolean;
  /** Leeway for `exp`, `nbf` and `iat`, in seconds (default 30, at most 60). */
  clockTolerance?: number;
  /** Rules the schema cannot say (e.g. a positive id); false refuses the token as `bad_claims`. */
  check?(claims: MessageShape<Desc>): boolean;
  clock?: Clock;
}

/** An issued token and its registered claims. */
export interface IssuedToken {
  readonly token: string;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
}

/** Issues and verifies one kind of token. */
export interface JwtCodec<Desc extends DescMessage> {
  /** Signs a token with these claims, `iat`, `exp = iat + lifetime`, a random `jti`, and `iss`/`aud` when configured. Throws when the ring holds no signing key, and `ClaimsError` for claims the verifier would refuse (an int64 beyond 2^53, a non-finite number, an integer out of its field's range, a list longer than `maxListClaimItems`). */
  issue(claims: MessageInitShape<Desc>): Promise<IssuedToken>;
  /** Verifies a token and decodes its claims, or throws {@link AuthError}. */
  verify(token: string): Promise<VerifiedToken<MessageShape<Desc>>>;
  /** The key ring's version: changes whenever the verification keys do. */
  keysVersion(): number;
}

/**
 * Creates a codec for one kind of token, its claims declared as a protobuf message. jose signs;
 * verification is node:crypto over the strictly parsed token. Before any cryptography the
 * token's syntax is checked (canonical base64url, size) and header and payload are parsed
 * strictly (no duplicate members, bounded depth); then the key is picked by `kid`, the header's
 * `alg` must be that key's own, `typ` must match, `crit` and `b64` are refused, and headers
 * such as `jwk`, `jku`, `x5u` and `x5c` are never used to find a key. After the signature:
 * `exp` is required, `nbf` and `iat` may not be in the future, `iss`/`aud` must be the
 * configured ones, the lifetime is capped, and the rest decodes strictly into the message.
 *
 * @example
 * const access = createJwtCodec({ keys, claims: AccessClaimsSchema, unknownClaims: "reject", lifetime: 900 });
 * const { token } = await access.issue({ userId: 1n, roles: ["admin"] });
 * const { claims } = await access.verify(token); // claims.userId === 1n
 */
export function createJwtCodec<Desc extends DescMessage>(options: JwtCodecOptions<Desc>): JwtCodec<Desc> {
  const { keys, claims: schema, unknownClaims, lifetime, issuer, audience, check, requireJti = false } = options;
  assertClaimsMessage(schema);
  const clock = options.clock ?? systemClock;
  const type = options.type ?? "JWT";
  const allowUntyped = options.allowUntyped ?? type.toUpperCase() === "JWT";
  const tolerance = Math.min(60, Math.max(0, options.clockTolerance ?? defaultClockTolerance));
  const typeMatches = (typ: unknown) => (typ === undefined ? allowUntyped : typeof typ === "string" && typ.toUpperCase() === type.toUpperCase());

  // every token of one key has the same header: remember a few parsed ones (frozen), by segment
  const headers = new Map<string, Readonly<Record<string, unknown>>>();
  const parseHeader = (segment: string) => {
    const known = headers.get(segment);
    // Stryker disable next-line ConditionalExpression: a memo; parsing the segment again gives the same header
    if (known !== undefined) return known;
    const parsed = parseStrictJsonObject(Buffer.from(segment, "base64url"));
    // Stryker disable next-line ConditionalExpression: an unreadable header is refused by the caller either way (it is never remembered: the memo is of parsed headers)
    if (parsed === undefined) return undefined;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: the memo's bound (memory, not who gets in)
    if (headers.size >= 32) headers.clear();
    headers.set(segment, Object.freeze(parsed));
    return parsed;
  };

  return {
    async issue(init) {
      const signing = keys.signing;
      if (signing === undefined) throw new Error("protogate: this key ring holds no signing key");
      const payload = claimsToJson(schema, create(schema, init));
      // never issue what a verifier refuses (a NaN, a 33rd role, -1 in a uint32): throws ClaimsError
      claimsFromJson(schema, payload, "reject");
      const iat = epochSeconds(clock);
      const exp = iat + lifetime;
      const jti = randomBytes(16).toString("base64url");
      const jwt = new SignJWT(payload).setProtectedHeader({ alg: signing.alg, typ: type, kid: signing.kid }).setIssuedAt(iat).setExpirationTime(exp).setJti(jti);
      if (issuer !== undefined) jwt.setIssuer(issuer);
      if (audience !== undefined) jwt.setAudience(audience);
      return { token: await jwt.sign(signing.sign), iat, exp, jti };
    },

    async verify(token) {
      // Everything an attacker controls is checked strictly before any cryptography.
      if (!isCanonicalCompactJws(token)) throw new AuthError("malformed");
      const [h, p] = token.split(".", 2) as [string, string];
      const header = parseHeader(h);
      const payload = parseStrictJsonObject(Buffer.from(p, "base64url"));
      if (header === undefined || payload === undefined) throw new AuthError("malformed");
      const { alg, kid, typ } = header;
      if (typeof alg !== "string" || !(algorithms as readonly string[]).includes(alg)) throw new AuthError("bad_algorithm");
      if (kid !== undefined && (typeof kid !== "string" || kid === "")) throw new AuthError("malformed");
      if (!typeMatches(typ)) throw new AuthError("bad_claims");
      // no critical extension is understood here (RFC 7515 section 4.1.11), nor unencoded payloads
      if (Object.hasOwn(header, "crit") || Object.hasOwn(header, "b64")) throw new AuthError("malformed");
      const found = keys.candidates(kid, alg);
      const named = Array.isArray(found) ? found : await found;
      // no key of this kid (unknown or retired), or the key is another algorithm's (confusion)
      if (named.length === 0) throw new AuthError(kid === undefined ? "bad_algorithm" : "unknown_key");
      const candidates = named.filter((k) => k.alg === alg);
      if (candidates.length === 0) throw new AuthError("bad_algorithm");
      const lastDot = token.lastIndexOf(".");
      const signingInput = token.slice(0, lastDot);
      const signature = Buffer.from(token.slice(lastDot + 1), "base64url");
      if (!candidates.some((key) => key.verify(signingInput, signature))) throw new AuthError("bad_signature");
      const registered = checkRegistered(payload, { now: epochSeconds(clock), lifetime, tolerance, issuer, audience, requireJti });
      let claims: MessageShape<Desc>;
      try {
        claims = claimsFromJson(schema, payload, unknownClaims);
      } catch (err) {
        if (err instanceof ClaimsError) throw new AuthError("bad_claims");
        throw err;
      }
      if (check !== undefined && !check(claims)) throw new AuthError("bad_claims");
      return Object.freeze({ claims, ...registered });
    },

    keysVersion: () => keys.version(),
  };
}

/**
 * The registered claims (RFC 7519 section 4.1): `exp` present and not passed, `nbf` and `iat`
 * not in the future (with the tolerance), `iss` and `aud` equal to the configured values and
 * absent when none is configured, `exp - iat` within the lifetime, `jti` a non-empty string.
 */
function checkRegistered(
  payload: Record<string, unknown>,
  rules: { now: number; lifetime: number; tolerance: number; issuer?: string; audience?: string; requireJti: boolean },
): { exp: number; iat: number | undefined; jti: string | undefined } {
  const { now, lifetime, tolerance, issuer, audience } = rules;
  const { exp, nbf, iat, iss, aud, jti } = payload;
  if (typeof exp !== "number" || !Number.isFinite(exp)) throw new AuthError("bad_claims");
  if (exp <= now - tolerance) throw new AuthError("expired");
  if (nbf !== undefined) {
    if (typeof nbf !== "number" || !Number.isFinite(nbf)) throw new AuthError("bad_claims");
    if (nbf > now + tolerance) throw new AuthError("not_yet_valid");
  }
  if (issuer === undefined ? Object.hasOwn(payload, "iss") : iss !== issuer) throw new AuthError("bad_claims");
  if (audience === undefined ? Object.hasOwn(payload, "aud") : aud !== audience && !(Array.isArray(aud) && aud.includes(audience))) throw new AuthError("bad_claims");
  if (!Number.isSafeInteger(exp)) throw new AuthError("bad_claims");
  if (iat !== undefined && (typeof iat !== "number" || !Number.isSafeInteger(iat))) throw new AuthError("bad_claims");
  const issuedAt = (iat as number | undefined) ?? now;
  if (issuedAt > now + tolerance) throw new AuthError("not_yet_valid");
  if (exp - issuedAt > lifetime + tolerance) throw new AuthError("bad_claims");
  if (jti !== undefined ? typeof jti !== "string" || jti === "" : rules.requireJti) throw new AuthError("bad_claims");
  return { exp, iat: iat as number | undefined, jti: jti as string | undefined };
}
