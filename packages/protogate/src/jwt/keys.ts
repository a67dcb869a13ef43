import { createHash, createHmac, createPrivateKey, createSecretKey, createPublicKey, timingSafeEqual, verify as verifySignature, webcrypto, type KeyObject } from "node:crypto";
import { calculateJwkThumbprint, importPKCS8, type JWK } from "jose";

/** A key that cannot be used: unreadable PEM, a weak or unsupported type, the wrong algorithm. */
export class KeyError extends Error {
  override name = "KeyError";
}

/** The signing algorithms issued and accepted. */
export type Algorithm = "HS256" | "RS256" | "ES256" | "EdDSA";

/** Every algorithm, HS256 first (the default). */
export const algorithms: readonly Algorithm[] = ["HS256", "RS256", "ES256", "EdDSA"];

/** A key that verifies tokens: used with exactly one algorithm, named by its `kid`. */
export interface VerificationKey {
  readonly kid: string;
  readonly alg: Algorithm;
  /** Checks a JWS signature (raw bytes) over its signing input (ASCII) with this key and algorithm only. */
  readonly verify: (signingInput: string, signature: Buffer) => boolean;
  /** The public key as a JWK (with kid, alg, use), for publishing; absent for HS256 secrets. */
  readonly jwk?: JWK;
}

/** The key new tokens are signed with, and the key that verifies them. */
export interface SigningKey {
  readonly kid: string;
  readonly alg: Algorithm;
  readonly sign: webcrypto.CryptoKey;
  readonly verify: VerificationKey;
}

/**
 * A key id for an HS256 secret: a short salted hash, which reveals nothing of a high-entropy
 * secret. The salt names the application, so two applications sharing a secret by mistake
 * still name it differently.
 */
export function secretKeyId(secret: string, salt = "protogate"): string {
  return createHash("sha256").update(`${salt} kid\0`).update(secret).digest("base64url").slice(0, 16);
}

/** The shortest HS256 secret {@link hmacKey} takes, in bytes: the hash's size (RFC 7518 section 3.2). */
export const minSecretBytes = 32;

/**
 * Imports an HS256 secret once; it signs and verifies. Its `kid` is {@link secretKeyId} unless
 * given. A secret shorter than {@link minSecretBytes} bytes, or made of fewer than 8 distinct
 * characters, throws {@link KeyError} (the message never quotes it): such a secret can be
 * guessed offline from any one token.
 */
export async function hmacKey(secret: string, options: { kid?: string } = {}): Promise<SigningKey> {
  const bytes = Buffer.from(secret, "utf8");
  if (bytes.length < minSecretBytes) throw new KeyError(`an HS256 secret needs at least ${minSecretBytes} bytes; this one has ${bytes.length}`);
  if (new Set(secret).size < 8) throw new KeyError("an HS256 secret needs at least 8 distinct characters");
  const key = await webcrypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const kid = options.kid ?? secretKeyId(secret);
  const secretKey = createSecretKey(bytes);
  const verify = (input: string, signature: Buffer) =>
    signature.length === 32 && timingSafeEqual(createHmac("sha256", secretKey).update(input, "latin1").digest(), signature);
  return { kid, alg: "HS256", sign: key, verify: { kid, alg: "HS256", verify } };
}

/**
 * The signature check of one asymmetric key, with node:crypto: RSASSA-PKCS1-v1_5 with SHA-256,
 * ECDSA P-256 with SHA-256 in JWS's raw r||s form (64 bytes), or Ed25519 (64 bytes).
 */
function publicVerifier(publicKey: KeyObject, alg: Exclude<Algorithm, "HS256">): VerificationKey["verify"] {
  switch (alg) {
    case "RS256":
      return (input, signature) => verifySignature("sha256", Buffer.from(input, "latin1"), publicKey, signature);
    case "ES256":
      return (input, signature) =>
        signature.length === 64 && verifySignature("sha256", Buffer.from(input, "latin1"), { key: publicKey, dsaEncoding: "ieee-p1363" }, signature);
    case "EdDSA":
      return (input, signature) => signature.length === 64 && verifySignature(null, Buffer.from(input, "latin1"), publicKey, signature);
  }
}

/**
 * The one algorithm a key may be used with, from its type: RSA (2048 bits or more) -> RS256,
 * EC P-256 -> ES256, Ed25519 -> EdDSA. Any other key is refused.
 */
export function algorithmOf(key: KeyObject, where: string): Exclude<Algorithm, "HS256"> {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case "rsa":
      if ((details.modulusLength ?? 0) < 2048) throw new KeyError(`${where}: RSA keys must have at least 2048 bits`);
      return "RS256";
    case "ec":
      if (details.namedCurve !== "prime256v1") throw new KeyError(`${where}: EC keys must be on P-256 (ES256)`);
      return "ES256";
    case "ed25519":
      return "EdDSA";
    default:
      throw new KeyError(`${where}: unsupported key type ${key.asymmetricKeyType ?? "unknown"} (use RSA, EC P-256 or Ed25519)`);
  }
}

/** The RFC 7638 thumbprint of a public key: its `kid`, so one key always has one name. */
export async function publicKeyId(publicKey: KeyObject): Promise<string> {
  return calculateJwkThumbprint(publicKey.export({ format: "jwk" }) as JWK);
}

async function verificationKeyOf(publicKey: KeyObject, alg: Exclude<Algorithm, "HS256">): Promise<VerificationKey> {
  const kid = await publicKeyId(publicKey);
  const jwk = { ...(publicKey.export({ format: "jwk" }) as JWK), kid, alg, use: "sig" };
  return { kid, alg, verify: publicVerifier(publicKey, alg), jwk };
}

/**
 * Reads a PEM private key (PKCS#8, PKCS#1 or SEC1) as the signing key. Its algorithm comes from
 * its type and must be `expected`. `where` names the key's origin in errors; the PEM is never quoted.
 */
export async function signingKeyFromPem(pem: string, expected: Algorithm, where: string): Promise<SigningKey> {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw new KeyError(`${where}: not a PEM private key`);
  }
  const alg = algorithmOf(privateKey, where);
  if (alg !== expected) throw new KeyError(`${where}: this is a ${alg} key, not ${expected}`);
  const pkcs8 = privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  const sign = (await importPKCS8(pkcs8, alg)) as webcrypto.CryptoKey;
  const verify = await verificationKeyOf(createPublicKey(privateKey), alg);
  return { kid: verify.kid, alg, sign, verify };
}

/** Reads a PEM public key (or a private key, of which only the public half is kept) that verifies. */
export async function verificationKeyFromPem(pem: string, where: string): Promise<VerificationKey> {
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey(pem);
  } catch {
    throw new KeyError(`${where}: not a PEM public key`);
  }
  return verificationKeyOf(publicKey, algorithmOf(publicKey, where));
}

/**
 * Imports one JWK from a JWKS as a verification key, or returns undefined when it is not one
 * this service uses: not for signatures, no `kid`, private material, or a type/algorithm pair
 * other than RSA/RS256, EC P-256/ES256, OKP Ed25519/EdDSA (a key's `alg`, when present, must
 * agree with its type).
 */
export function verificationKeyFromJwk(jwk: Record<string, unknown>): VerificationKey | undefined {
  const { kty, crv, kid, use } = jwk;
  if (typeof kid !== "string" || kid === "" || kid.length > 256) return undefined;
  if (use !== undefined && use !== "sig") return undefined;
  if (["d", "p", "q", "dp", "dq", "qi", "k"].some((m) => Object.hasOwn(jwk, m))) return undefined;
  const alg: Algorithm | undefined =
    kty === "RSA" ? "RS256" : kty === "EC" && crv === "P-256" ? "ES256" : kty === "OKP" && crv === "Ed25519" ? "EdDSA" : undefined;
  if (alg === undefined) return undefined;
  if (jwk.alg !== undefined && jwk.alg !== alg && !(alg === "EdDSA" && jwk.alg === "Ed25519")) return undefined;
  const pub = pickPublic(jwk, kty === "RSA" ? ["kty", "n", "e"] : ["kty", "crv", "x", "y"]);
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: pub as import("node:crypto").JsonWebKey, format: "jwk" });
  } catch {
    return undefined;
  }
  if (alg === "RS256" && (publicKey.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) return undefined;
  return { kid, alg, verify: publicVerifier(publicKey, alg), jwk: { ...pub, kid, alg, use: "sig" } as JWK };
}

function pickPublic(jwk: Record<string, unknown>, members: string[]): JWK {
  const out: Record<string, unknown> = {};
  for (const m of members) if (typeof jwk[m] === "string") out[m] = jwk[m];
  return out as JWK;
}
