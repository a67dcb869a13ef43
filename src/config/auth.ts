import { bool, entries, enumOf, int, list, optionalUrl, section, seconds, str } from "./fields.js";

/** The longest lifetime of a token, access or refresh. */
const expire = { min: 1, max: 366 * 24 * 3600 } as const;

export const auth = section({
  yaml: "Auth",
  doc: "tokens: what signs and verifies them, their lifetimes, revocations",
  fields: {
    accessSecret: str({
      yaml: "AccessSecret",
      env: "ACCESS_SECRET",
      default: "",
      defaultText: "generated",
      doc: "HS256 secret, at least 32 bytes; empty: generated into `DataDir` (SQLite only)",
    }),
    accessExpire: int({
      yaml: "AccessExpire",
      env: "ACCESS_EXPIRE",
      default: 86400,
      ...expire,
      doc: "token lifetime, seconds; also the longest lifetime a token may claim",
    }),
    verifiedTokenCache: int({
      yaml: "VerifiedTokenCache",
      default: 10_000,
      min: 0,
      max: 10_000_000,
      doc: "tokens remembered once verified (by exact string, until their `exp`); 0 disables",
    }),
    prevAccessSecret: str({
      yaml: "PrevAccessSecret",
      env: "PREV_ACCESS_SECRET",
      default: "",
      doc: "the secret before a rotation: verifies, never signs",
    }),
    issuer: str({ yaml: "Issuer", default: "", doc: "`iss` set on issue and required on verify; empty: tokens carrying one are refused" }),
    audience: str({ yaml: "Audience", default: "", doc: "`aud` set on issue and required on verify; empty: tokens carrying one are refused" }),
    clockTolerance: int({ yaml: "ClockTolerance", default: 30, min: 0, max: 60, doc: "seconds of leeway for `exp`, `nbf`, `iat` (0 to 60)" }),
    revocationFailOpen: bool({
      yaml: "RevocationFailOpen",
      default: false,
      doc: "revocations never read since start (database unreachable): `false` = authenticated calls are `unavailable`",
    }),
    maxRevocations: int({
      yaml: "MaxRevocations",
      default: 1_000_000,
      ...entries,
      doc: "live revocations held per process; past it a logout ends all the user's sessions (one entry)",
    }),
    algorithm: enumOf({
      yaml: "Algorithm",
      env: "SIGNING_ALGORITHM",
      values: ["HS256", "RS256", "ES256", "EdDSA"],
      default: "HS256",
      doc: "`HS256` (AccessSecret) or `RS256`, `ES256`, `EdDSA` (a key pair)",
    }),
    signingKeyFile: str({
      yaml: "SigningKeyFile",
      env: "SIGNING_KEY_FILE",
      default: "",
      doc: "PEM private key that signs (RS256/ES256/EdDSA)",
    }),
    signingKey: str({ yaml: "SigningKey", env: "SIGNING_KEY", default: "", doc: "the same PEM as text (one of the two)" }),
    verifyKeyFiles: list({
      yaml: "VerifyKeyFiles",
      env: "VERIFY_KEY_FILES",
      default: [],
      what: "file paths",
      ok: (p) => p !== "",
      item: { minLength: 1 },
      doc: "PEM public keys of retired signing keys: verify (and are published) until removed",
    }),
    jwksUrl: str({
      yaml: "JwksUrl",
      env: "JWKS_URL",
      default: "",
      ...optionalUrl(["http:", "https:"]),
      doc: "verify with the keys published there; a process that does not sign needs nothing else",
    }),
    jwksCooldown: int({
      yaml: "JwksCooldown",
      default: 30,
      ...seconds,
      doc: "least seconds before the same unknown `kid` causes another refetch (any two fetches are at least 1 s apart)",
    }),
    jwksMaxAge: int({
      yaml: "JwksMaxAge",
      default: 300,
      ...seconds,
      doc: "seconds between refetches; a key dropped from the JWKS stops verifying by then",
    }),
    refreshExpire: int({
      yaml: "RefreshExpire",
      env: "REFRESH_EXPIRE",
      default: 30 * 24 * 3600,
      ...expire,
      doc: "refresh token lifetime, seconds (30 days)",
    }),
  },
});
