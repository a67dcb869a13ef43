// protogate/jwt: the strict JWT issuer and verifier behind the interceptor (HS256, RS256, ES256,
// EdDSA; a key ring with `kid`, a previous secret, JWKS publish and consume). Public API only.

export { createJwtCodec, defaultClockTolerance, type IssuedToken, type JwtCodec, type JwtCodecOptions } from "./codec.js";
export { ClaimsError, maxListClaimItems, registeredClaims, type UnknownClaims } from "./claims.js";
export { createKeyRing, type KeyRing, type KeyRingOptions } from "./key-ring.js";
export { localKeySet, type KeySet } from "./key-set.js";
export {
  algorithmOf,
  algorithms,
  hmacKey,
  KeyError,
  minSecretBytes,
  publicKeyId,
  secretKeyId,
  signingKeyFromPem,
  verificationKeyFromJwk,
  verificationKeyFromPem,
  type Algorithm,
  type SigningKey,
  type VerificationKey,
} from "./keys.js";
export { createRemoteKeySet, type JwksLogger, type RemoteKeySetOptions } from "./remote-jwks.js";
export { withVerifiedTokenCache, type CachableVerifier, type CachedVerifier } from "./verified-token-cache.js";
export { maxJsonDepth, parseStrictJsonObject } from "../lib/strict-json.js";
export { isCanonicalCompactJws, maxTokenLength } from "../lib/token-syntax.js";
export type { Clock } from "../lib/clock.js";
