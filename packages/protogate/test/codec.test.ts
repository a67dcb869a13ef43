import assert from "node:assert/strict";
import { createHmac, generateKeyPairSync } from "node:crypto";
import { describe, test } from "node:test";
import { create, equals } from "@bufbuild/protobuf";
import fc from "fast-check";
import { AuthError, type AuthErrorReason } from "../src/index.js";
import {
  ClaimsError,
  createJwtCodec,
  createKeyRing,
  defaultClockTolerance,
  hmacKey,
  KeyError,
  minSecretBytes,
  maxListClaimItems,
  secretKeyId,
  signingKeyFromPem,
  verificationKeyFromPem,
  type Algorithm,
  type JwtCodecOptions,
  type KeyRing,
} from "../src/jwt/index.js";
import { ClaimsSchema, DeepestClaimsSchema, invalidClaimsSchemas, NestedExpSchema, Tier, type ClaimsInit } from "./fixture.js";

const secret = "codec-test-secret-0123456789abcdefghij";
const key = await hmacKey(secret);
const ring = createKeyRing({ signing: key });

// time is injected: T is "now" unless a test moves it
const T = 1_900_000_000;
let nowMs = T * 1000;
const clock = { now: () => nowMs };
const at = (seconds: number) => (nowMs = seconds * 1000);

type Options = Partial<JwtCodecOptions<typeof ClaimsSchema>>;
const make = (options: Options = {}) => createJwtCodec({ keys: ring, claims: ClaimsSchema, unknownClaims: "reject", lifetime: 900, clock, ...options });
const codec = make();

const b64 = (v: unknown) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
/** A token signed with HS256 over exactly the given header and payload (objects, or raw JSON text). */
const sign = (header: unknown, payload: unknown, hmacSecret: string | Buffer = secret) => {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac("sha256", hmacSecret).update(input).digest("base64url")}`;
};
const header = { alg: "HS256", typ: "JWT", kid: key.kid };
/** A signed token with valid registered claims, plus (or minus, with undefined) the given members. */
const token = (members: Record<string, unknown>, h: Record<string, unknown> = header) => {
  const payload: Record<string, unknown> = { iat: T, exp: T + 600, ...members };
  for (const k of Object.keys(payload)) if (payload[k] === undefined) delete payload[k];
  return sign(Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)), payload);
};
const decodeSegments = (t: string) => t.split(".").slice(0, 2).map((s) => JSON.parse(Buffer.from(s, "base64url").toString("utf8")) as Record<string, unknown>);

/** The reason a verification is refused with ("accepted" when it is not); any other error fails the test. */
async function reason(p: Promise<unknown>): Promise<AuthErrorReason | "accepted"> {
  try {
    await p;
    return "accepted";
  } catch (err) {
    assert.ok(err instanceof AuthError, `expected an AuthError, got ${String(err)}`);
    return err.reason;
  }
}

const full: ClaimsInit = {
  userId: 9_007_199_254_740_991n,
  roles: ["admin", "ops"],
  sid: "s-1",
  tier: Tier.PRO,
  org: { name: "acme", seats: 4_000_000_000 },
  admin: true,
  level: 7,
  score: -1.25,
  nonce: new Uint8Array([0, 1, 2, 250, 255]),
};

describe("issue and verify", () => {
  test("HS256: every field round-trips; the registered claims are the codec's", async () => {
    at(T);
    const issued = await codec.issue(full);
    assert.equal(issued.iat, T);
    assert.equal(issued.exp, T + 900);
    assert.match(issued.jti, /^[A-Za-z0-9_-]{22}$/);
    const verified = await codec.verify(issued.token);
    assert.ok(equals(ClaimsSchema, verified.claims, create(ClaimsSchema, full)));
    assert.deepEqual([verified.exp, verified.iat, verified.jti], [issued.exp, issued.iat, issued.jti]);
    assert.ok(Object.isFrozen(verified));
    assert.notEqual((await codec.issue(full)).jti, issued.jti);
    assert.equal(codec.keysVersion(), 0);
  });

  test("the payload uses JSON names, int64 as JSON numbers, enum names and base64url bytes; unset fields are left out", async () => {
    at(T);
    const [h, payload] = decodeSegments((await codec.issue(full)).token) as [Record<string, unknown>, Record<string, unknown>];
    assert.deepEqual(h, { alg: "HS256", typ: "JWT", kid: key.kid });
    assert.equal(key.kid, secretKeyId(secret));
    assert.deepEqual(Object.keys(payload).sort(), ["admin", "exp", "iat", "jti", "level", "nonce", "org", "roles", "score", "sid", "tier", "userId"]);
    assert.equal(payload.userId, 9_007_199_254_740_991);
    assert.equal(typeof payload.userId, "number");
    assert.equal(payload.tier, "TIER_PRO");
    assert.deepEqual(payload.org, { name: "acme", seats: 4_000_000_000 });
    assert.equal(payload.nonce, "AAEC-v8");
    assert.equal(payload.score, -1.25);

    const [, sparse] = decodeSegments((await codec.issue({ userId: 1n, sid: "" })).token) as [unknown, Record<string, unknown>];
    assert.deepEqual(Object.keys(sparse).sort(), ["exp", "iat", "jti", "sid", "userId"], "zero values without presence are left out; an explicit optional is kept");
    assert.equal(sparse.sid, "");
  });

  test("an int64 beyond 2^53 cannot be issued (it would not survive as a JSON number)", async () => {
    await assert.rejects(codec.issue({ userId: 2n ** 53n }), ClaimsError);
    await assert.rejects(codec.issue({ userId: -(2n ** 60n) }), ClaimsError);
  });

  test("claims a verifier would refuse are not issued", async () => {
    const refusedOnIssue: Record<string, ClaimsInit> = {
      "NaN in a double": { userId: 1n, score: Number.NaN },
      "Infinity in a double": { userId: 1n, score: Number.NEGATIVE_INFINITY },
      [`${maxListClaimItems + 1} roles`]: { userId: 1n, roles: Array.from({ length: maxListClaimItems + 1 }, (_, i) => `r${i}`) },
      "-1 in a uint32": { userId: 1n, level: -1 },
      "2^32 in a nested uint32": { userId: 1n, org: { seats: 2 ** 32 } },
      "a fraction in a uint32": { userId: 1n, level: 1.5 },
      "an enum number without a value": { userId: 1n, tier: 9 as Tier },
    };
    for (const [what, init] of Object.entries(refusedOnIssue)) await assert.rejects(codec.issue(init), ClaimsError, what);
    assert.equal((await codec.verify((await codec.issue({ userId: 1n, roles: Array(maxListClaimItems).fill("r") })).token)).claims.roles.length, maxListClaimItems);
  });

  test("property: any claims either issue a token that verifies to equal claims, or are refused with ClaimsError", async () => {
    at(T);
    const u32 = fc.oneof(fc.nat({ max: 2 ** 32 - 1 }), fc.constantFrom(-1, 2 ** 32, 0.5));
    const init = fc.record(
      {
        userId: fc.bigInt({ min: -(2n ** 54n), max: 2n ** 54n }),
        roles: fc.array(fc.string({ unit: "binary", maxLength: 5 }), { maxLength: maxListClaimItems + 2 }),
        sid: fc.string({ unit: "binary", maxLength: 8 }),
        tier: fc.constantFrom(0, 1, 2, 3),
        org: fc.record({ name: fc.string({ maxLength: 4 }), seats: u32 }, { requiredKeys: [] }),
        admin: fc.boolean(),
        level: u32,
        score: fc.double(),
        nonce: fc.uint8Array({ maxLength: 12 }),
      },
      { requiredKeys: [] },
    );
    let issued = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(init, async (claims) => {
        let t: string;
        try {
          t = (await codec.issue(claims as ClaimsInit)).token;
        } catch (err) {
          assert.ok(err instanceof ClaimsError, `issue threw ${String(err)}`);
          refused++;
          return;
        }
        issued++;
        assert.ok(equals(ClaimsSchema, (await codec.verify(t)).claims, create(ClaimsSchema, claims as ClaimsInit)), "verified claims differ from the issued ones");
      }),
      { seed: 7, numRuns: 300 },
    );
    assert.ok(issued >= 30 && refused >= 30, `both outcomes were exercised (${issued} issued, ${refused} refused)`);
  });

  test("a ring without a signing key verifies but cannot issue", async () => {
    at(T);
    const verifier = make({ keys: createKeyRing({ verifyKeys: [key.verify] }) });
    assert.equal((await verifier.verify((await codec.issue({ userId: 3n })).token)).claims.userId, 3n);
    await assert.rejects(verifier.issue({ userId: 3n }), /no signing key/);
  });

  const pairs: Record<Exclude<Algorithm, "HS256">, () => { privateKey: string; publicKey: string }> = {
    RS256: () => generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } }),
    ES256: () => generateKeyPairSync("ec", { namedCurve: "P-256", privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } }),
    EdDSA: () => generateKeyPairSync("ed25519", { privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } }),
  };
  for (const [alg, generate] of Object.entries(pairs) as [Exclude<Algorithm, "HS256">, (typeof pairs)["RS256"]][]) {
    test(`${alg}: an issuer's token verifies with the public key alone, and only unaltered`, async () => {
      at(T);
      const { privateKey, publicKey } = generate();
      const signing = await signingKeyFromPem(privateKey, alg, "test key");
      const issuerRing = createKeyRing({ signing });
      const issuer = make({ keys: issuerRing });
      const verifier = make({ keys: createKeyRing({ verifyKeys: [await verificationKeyFromPem(publicKey, "test public key")] }) });
      const { token: t } = await issuer.issue(full);
      const [h] = decodeSegments(t) as [Record<string, unknown>];
      assert.deepEqual(h, { alg, typ: "JWT", kid: signing.kid });
      assert.ok(equals(ClaimsSchema, (await verifier.verify(t)).claims, create(ClaimsSchema, full)));
      assert.ok(equals(ClaimsSchema, (await issuer.verify(t)).claims, create(ClaimsSchema, full)));
      // the published JWKS holds the public key only
      const jwks = issuerRing.publicJwks();
      assert.equal(jwks.length, 1);
      assert.deepEqual([jwks[0]!.kid, jwks[0]!.alg, jwks[0]!.use], [signing.kid, alg, "sig"]);
      assert.ok(!("d" in jwks[0]!), "no private material");
      // another payload under the same signature, or another signature
      const [hs, , sig] = t.split(".");
      const otherPayload = b64({ ...decodeSegments(t)[1], userId: 1 });
      assert.equal(await reason(verifier.verify(`${hs}.${otherPayload}.${sig}`)), "bad_signature");
      const flipped = Buffer.from(sig!, "base64url");
      flipped[5] = flipped[5]! ^ 1;
      assert.equal(await reason(verifier.verify(`${hs}.${t.split(".")[1]}.${flipped.toString("base64url")}`)), "bad_signature");
      // a key of another type than the algorithm named
      await assert.rejects(signingKeyFromPem(privateKey, alg === "RS256" ? "ES256" : "RS256", "test key"), KeyError);
    });
  }

  test("weak or unsupported keys are refused when read", async () => {
    const small = generateKeyPairSync("rsa", { modulusLength: 1024, privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
    await assert.rejects(signingKeyFromPem(small.privateKey, "RS256", "small"), /at least 2048/);
    await assert.rejects(verificationKeyFromPem(small.publicKey, "small"), KeyError);
    const p384 = generateKeyPairSync("ec", { namedCurve: "P-384", privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
    await assert.rejects(signingKeyFromPem(p384.privateKey, "ES256", "p384"), /P-256/);
    await assert.rejects(signingKeyFromPem("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----", "RS256", "where"), (err: unknown) => err instanceof KeyError && !err.message.includes("nope"));
  });

  test("an HS256 secret shorter than 32 bytes or of fewer than 8 distinct characters is refused, unquoted", async () => {
    for (const weak of ["", "hunter2", "s3cr3t-but-only-31-bytes-long!!", "ab".repeat(32), "0123456".repeat(8)]) {
      await assert.rejects(hmacKey(weak), (err: unknown) => err instanceof KeyError && (weak === "" || !err.message.includes(weak)), JSON.stringify(weak));
    }
    assert.equal(minSecretBytes, 32);
    // 32 bytes of 8 distinct characters is the least taken; bytes, not characters, are counted
    await hmacKey("01234567".repeat(4));
    await hmacKey("éèêëàâäôöü".repeat(2)); // 20 characters, 40 bytes
    await assert.rejects(hmacKey("éèêëàâäôöü" + "éèêëà" + "x"), KeyError); // 31 bytes
  });
});

describe("claims decoded strictly into the message", () => {
  test("an undeclared member is refused with unknownClaims 'reject', ignored with 'ignore', at any depth", async () => {
    at(T);
    const lenient = make({ unknownClaims: "ignore" });
    for (const members of [{ userId: 1, isAdmin: true }, { userId: 1, user_id: 2 }, { userId: 1, org: { name: "a", extra: 1 } }, { userId: 1, org: { exp: 1 } }]) {
      const t = token(members);
      assert.equal(await reason(codec.verify(t)), "bad_claims", JSON.stringify(members));
      assert.equal((await lenient.verify(t)).claims.userId, 1n, JSON.stringify(members));
    }
    // the registered claims are the codec's, not undeclared claims
    assert.equal(await reason(codec.verify(token({ userId: 1, jti: "j", nbf: T }))), "accepted");
  });

  test("every claim must have exactly its field's JSON type", async () => {
    at(T);
    const list = (n: number) => Array.from({ length: n }, (_, i) => `r${i}`);
    const refused: Record<string, Record<string, unknown>> = {
      "a string where int64 is declared": { userId: "42" },
      "a fraction for an integer": { level: 1.5 },
      "a fraction for int64": { userId: 1.5 },
      "uint32 above its range": { level: 2 ** 32 },
      "uint32 below its range": { level: -1 },
      "a nested uint32 out of range": { org: { seats: 2 ** 32 } },
      "int64 beyond 2^53": { userId: 2 ** 53 },
      "null for a string": { sid: null },
      "null for an int64": { userId: null },
      "null for a list": { roles: null },
      "null for a message": { org: null },
      "null in a list": { roles: ["a", null] },
      [`more than ${maxListClaimItems} items`]: { roles: list(maxListClaimItems + 1) },
      "a number in a string list": { roles: ["a", 1] },
      "a string for a list": { roles: "admin" },
      "an unknown enum name": { tier: "TIER_GOLD" },
      "an enum by number": { tier: 2 },
      "an enum by its short name": { tier: "PRO" },
      "a string for a bool": { admin: "true" },
      "a number for a bool": { admin: 1 },
      "a string for a double": { score: "1.5" },
      "standard base64 for bytes": { nonce: "+/8=" },
      "non-canonical base64url for bytes": { nonce: "AB" },
      "an array for a message": { org: [] },
      "a string for a message": { org: "acme" },
    };
    for (const [what, members] of Object.entries(refused)) assert.equal(await reason(codec.verify(token({ userId: 1, ...members }))), "bad_claims", what);
    const accepted = await codec.verify(token({ userId: -5, roles: list(maxListClaimItems), tier: "TIER_FREE", level: 2 ** 32 - 1, score: 1e300, nonce: "", admin: false }));
    assert.equal(accepted.claims.userId, -5n);
    assert.equal(accepted.claims.roles.length, maxListClaimItems);
    assert.equal(accepted.claims.tier, Tier.FREE);
    assert.equal(accepted.claims.level, 2 ** 32 - 1);
  });

  test("a claims message that cannot be a JWT payload is refused when the codec is created", () => {
    // each refused at start-up with a message naming the field and why
    const messages: Record<keyof typeof invalidClaimsSchemas, string> = {
      "a registered claim (exp)": 'fixture.v1.WithExp.exp: "exp" is a registered claim, set by the codec',
      "a JSON name that is a registered claim (iss)": 'fixture.v1.WithJsonNameIss.issuer_name: "iss" is a registered claim, set by the codec',
      "a map field": "fixture.v1.WithMap.labels: map fields cannot be claims",
      "a oneof": "fixture.v1.WithOneof.a: oneof fields cannot be claims",
      "a nested map": "fixture.v1.WithMap.labels: map fields cannot be claims",
      "a map in a list of messages": "fixture.v1.WithMap.labels: map fields cannot be claims",
      "nesting deeper than 4": "fixture.v1.Deep5: claims nest too deep",
    };
    assert.deepEqual(Object.keys(invalidClaimsSchemas).sort(), Object.keys(messages).sort());
    for (const [what, schema] of Object.entries(invalidClaimsSchemas)) {
      assert.throws(() => createJwtCodec({ keys: ring, claims: schema, unknownClaims: "reject", lifetime: 60 }), { name: "TypeError", message: messages[what as keyof typeof messages] }, what);
    }
    // `exp` below the top level is an ordinary field
    createJwtCodec({ keys: ring, claims: NestedExpSchema, unknownClaims: "reject", lifetime: 60 });
    createJwtCodec({ keys: ring, claims: DeepestClaimsSchema, unknownClaims: "reject", lifetime: 60 });
    assert.equal(new ClaimsError("x").name, "ClaimsError");
  });

  test("the check hook refuses what the schema cannot say", async () => {
    at(T);
    const checked: bigint[] = [];
    const positive = make({ check: (c) => (checked.push(c.userId), c.userId > 0n) });
    assert.equal(await reason(positive.verify(token({ userId: 0 }))), "bad_claims");
    assert.equal(await reason(positive.verify(token({ userId: -3 }))), "bad_claims");
    assert.equal(await reason(positive.verify(token({ userId: 3 }))), "accepted");
    assert.deepEqual(checked, [0n, -3n, 3n]);
  });

  test("property: any payload decodes to claims that re-issue to equal claims, or is refused with an AuthError", async () => {
    at(T);
    const lenient = make({ unknownClaims: "ignore" });
    const str = fc.string({ unit: "binary", maxLength: 6 });
    const any = fc.jsonValue({ maxDepth: 2 });
    /** Mostly a value of the right type, sometimes anything JSON can hold. */
    const mostly = <T,>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: 15, arbitrary: valid }, { weight: 1, arbitrary: any });
    /** Mostly absent (undefined members are dropped), sometimes anything. */
    const rarely = <T,>(value: fc.Arbitrary<T>) => fc.oneof({ weight: 10, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: value });
    /** Integers around every boundary the fields have. */
    const int = fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 0, max: 2 ** 31 }) },
      { weight: 1, arbitrary: fc.integer({ min: -(2 ** 31), max: 2 ** 32 + 1 }) },
      { weight: 1, arbitrary: fc.oneof(fc.maxSafeInteger(), fc.constantFrom(2 ** 53, -0, 0.5, 1e21)) },
    );
    const b64url = fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b).toString("base64url"));
    const members = fc.record(
      {
        userId: mostly(int),
        roles: mostly(fc.oneof({ weight: 8, arbitrary: fc.array(str, { maxLength: 4 }) }, { weight: 1, arbitrary: fc.array(str, { minLength: maxListClaimItems - 1, maxLength: maxListClaimItems + 1 }) }, { weight: 1, arbitrary: fc.array(any, { maxLength: 2 }) })),
        sid: mostly(str),
        tier: mostly(fc.oneof({ weight: 6, arbitrary: fc.constantFrom("TIER_UNSPECIFIED", "TIER_FREE", "TIER_PRO") }, { weight: 1, arbitrary: fc.constantFrom("TIER_GOLD", "PRO", 1) })),
        org: mostly(fc.oneof({ weight: 6, arbitrary: fc.record({ name: mostly(str), seats: mostly(int) }, { requiredKeys: [] }) }, { weight: 1, arbitrary: fc.dictionary(str, any, { maxKeys: 2 }) })),
        admin: mostly(fc.boolean()),
        level: mostly(int),
        score: mostly(fc.double({ noNaN: true, noDefaultInfinity: true })),
        nonce: mostly(fc.oneof({ weight: 6, arbitrary: b64url }, { weight: 1, arbitrary: str })),
        exp: fc.oneof({ weight: 15, arbitrary: fc.constant(T + 600) }, { weight: 1, arbitrary: fc.oneof(int, any) }),
        iat: fc.oneof({ weight: 8, arbitrary: fc.constant(T) }, { weight: 1, arbitrary: fc.integer({ min: T - 1000, max: T + 1000 }) }, { weight: 1, arbitrary: any }),
        nbf: rarely(fc.oneof(fc.integer({ min: T - 100, max: T + 100 }), any)),
        jti: rarely(fc.oneof(str, any)),
        iss: rarely(any),
        aud: rarely(any),
      },
      { requiredKeys: ["exp", "iat"] },
    ).map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)));
    const extra = fc.oneof({ weight: 4, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: fc.dictionary(str, any, { minKeys: 1, maxKeys: 2 }) });
    const reasons: Record<string, number> = {};
    let accepted = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(members, extra, fc.boolean(), async (m, x, strictCodec) => {
        const verifier = strictCodec ? codec : lenient;
        let verified;
        try {
          verified = await verifier.verify(sign(header, { ...x, ...m }));
        } catch (err) {
          assert.ok(err instanceof AuthError, `a payload made ${String(err)} escape`);
          reasons[err.reason] = (reasons[err.reason] ?? 0) + 1;
          refused++;
          return;
        }
        accepted++;
        const again = await verifier.verify((await verifier.issue(verified.claims)).token);
        assert.ok(equals(ClaimsSchema, again.claims, verified.claims), "re-issued claims differ");
      }),
      { seed: 20260101, numRuns: 300 },
    );
    assert.ok(accepted >= 30 && refused >= 30, `both outcomes were exercised (${accepted} accepted, ${refused} refused)`);
    assert.ok((reasons.bad_claims ?? 0) > 0 && (reasons.not_yet_valid ?? 0) + (reasons.expired ?? 0) > 0, JSON.stringify(reasons));
  });
});

describe("registered claims", () => {
  test("typ: a codec refuses another codec's tokens; untyped tokens only where allowed", async () => {
    at(T);
    const access = make({ type: "access+jwt" });
    const refresh = make({ type: "refresh+jwt" });
    const accessToken = (await access.issue({ userId: 1n })).token;
    const refreshToken = (await refresh.issue({ userId: 1n })).token;
    assert.equal((decodeSegments(accessToken)[0] as { typ: string }).typ, "access+jwt");
    assert.equal(await reason(access.verify(accessToken)), "accepted");
    assert.equal(await reason(access.verify(refreshToken)), "bad_claims");
    assert.equal(await reason(refresh.verify(accessToken)), "bad_claims");
    assert.equal(await reason(codec.verify(refreshToken)), "bad_claims", "a plain JWT codec refuses a typed refresh token");
    assert.equal(await reason(access.verify(token({ userId: 1 }, { ...header, typ: "ACCESS+JWT" }))), "accepted", "typ in any case");

    const untyped = token({ userId: 1 }, { ...header, typ: undefined });
    assert.equal(await reason(access.verify(untyped)), "bad_claims");
    assert.equal(await reason(make({ type: "access+jwt", allowUntyped: true }).verify(untyped)), "accepted");
    assert.equal(await reason(codec.verify(untyped)), "accepted", "type JWT accepts untyped tokens by default (go-zero)");
    assert.equal(await reason(make({ allowUntyped: false }).verify(untyped)), "bad_claims");
    assert.equal(await reason(codec.verify(token({ userId: 1 }, { ...header, typ: 1 }))), "bad_claims");
  });

  test("iss and aud: the configured ones are required; when none is configured, a token carrying one is refused", async () => {
    at(T);
    const iss = "https://issuer.example";
    const aud = "bookstore";
    const both = make({ issuer: iss, audience: aud });
    const t = (await both.issue({ userId: 1n })).token;
    const [, payload] = decodeSegments(t) as [unknown, Record<string, unknown>];
    assert.deepEqual([payload.iss, payload.aud], [iss, aud]);
    assert.equal(await reason(both.verify(t)), "accepted");
    assert.equal(await reason(codec.verify(t)), "bad_claims", "neither configured");
    assert.equal(await reason(make({ issuer: iss }).verify(t)), "bad_claims", "aud carried, none configured");
    assert.equal(await reason(make({ audience: aud }).verify(t)), "bad_claims", "iss carried, none configured");
    assert.equal(await reason(make({ issuer: "https://other.example", audience: aud }).verify(t)), "bad_claims");
    assert.equal(await reason(make({ issuer: iss, audience: "other" }).verify(t)), "bad_claims");
    assert.equal(await reason(both.verify(token({ userId: 1, iss, aud: ["other", aud] }))), "accepted", "aud as a list naming us");
    assert.equal(await reason(both.verify(token({ userId: 1, iss, aud: ["other"] }))), "bad_claims");
    assert.equal(await reason(both.verify(token({ userId: 1, iss }))), "bad_claims", "aud missing");
    assert.equal(await reason(both.verify(token({ userId: 1, aud }))), "bad_claims", "iss missing");
    assert.equal(await reason(codec.verify(token({ userId: 1, aud: [] }))), "bad_claims", "an empty aud is still an aud");
    assert.equal(await reason(codec.verify(token({ userId: 1, iss: null }))), "bad_claims");
    // refused by these rules themselves, not only as undeclared claims
    const lenient = make({ unknownClaims: "ignore" });
    assert.equal(await reason(lenient.verify(token({ userId: 1 }))), "accepted");
    assert.equal(await reason(lenient.verify(token({ userId: 1, iss }))), "bad_claims", "iss carried, none configured (unknown claims ignored)");
    assert.equal(await reason(lenient.verify(token({ userId: 1, aud }))), "bad_claims", "aud carried, none configured (unknown claims ignored)");
  });

  test("registered claims of the wrong type are bad_claims, whatever their value would compare as", async () => {
    at(T);
    // a string compares with numbers as the number it spells: never expired, not yet valid, or accepted for it
    assert.equal(await reason(codec.verify(token({ userId: 1, exp: String(T - 1000) }))), "bad_claims", "exp a string in the past");
    assert.equal(await reason(codec.verify(token({ userId: 1, exp: String(T + 600) }))), "bad_claims", "exp a string in the future");
    assert.equal(await reason(codec.verify(token({ userId: 1, nbf: String(T + 10_000) }))), "bad_claims", "nbf a string in the future");
    assert.equal(await reason(codec.verify(token({ userId: 1, nbf: String(T - 10) }))), "bad_claims", "nbf a string in the past");
    assert.equal(await reason(codec.verify(token({ userId: 1, iat: String(T) }))), "bad_claims", "iat a string");
    assert.equal(await reason(codec.verify(token({ userId: 1, iat: T + 0.5 }))), "bad_claims", "iat fractional");
    assert.equal(await reason(codec.verify(token({ userId: 1, exp: Infinity }))), "bad_claims", "exp infinite (as JSON: null)");
  });

  test("the lifetime is capped: exp - iat at most lifetime + tolerance, and without iat from now", async () => {
    at(T);
    const capped = make({ lifetime: 900, clockTolerance: 10 });
    assert.equal(await reason(capped.verify(token({ userId: 1, iat: T, exp: T + 910 }))), "accepted");
    assert.equal(await reason(capped.verify(token({ userId: 1, iat: T, exp: T + 911 }))), "bad_claims");
    assert.equal(await reason(capped.verify(token({ userId: 1, iat: undefined, exp: T + 910 }))), "accepted");
    assert.equal(await reason(capped.verify(token({ userId: 1, iat: undefined, exp: T + 911 }))), "bad_claims");
    const longLived = (await make({ lifetime: 3600 }).issue({ userId: 1n })).token;
    assert.equal(await reason(capped.verify(longLived)), "bad_claims");
  });

  test("exp, nbf and iat against the injected clock, with the tolerance", async () => {
    const tolerant = make({ clockTolerance: 10 });
    const t = token({ userId: 1, iat: T, exp: T + 100 });
    at(T + 109);
    assert.equal(await reason(tolerant.verify(t)), "accepted");
    at(T + 110);
    assert.equal(await reason(tolerant.verify(t)), "expired");
    at(T);
    const early = token({ userId: 1, iat: T, nbf: T + 50, exp: T + 600 });
    at(T + 39);
    assert.equal(await reason(tolerant.verify(early)), "not_yet_valid");
    at(T + 40);
    assert.equal(await reason(tolerant.verify(early)), "accepted");
    const future = token({ userId: 1, iat: T + 50, exp: T + 600 });
    at(T + 39);
    assert.equal(await reason(tolerant.verify(future)), "not_yet_valid");
    at(T + 40);
    assert.equal(await reason(tolerant.verify(future)), "accepted");

    // the default tolerance is 30 s; it is clamped to [0, 60]
    assert.equal(defaultClockTolerance, 30);
    const edge = token({ userId: 1, iat: T - 100, exp: T });
    const cases: [Options, number, AuthErrorReason | "accepted"][] = [
      [{}, T + 29, "accepted"],
      [{}, T + 30, "expired"],
      [{ clockTolerance: 1000 }, T + 59, "accepted"],
      [{ clockTolerance: 1000 }, T + 60, "expired"],
      [{ clockTolerance: -5 }, T - 1, "accepted"],
      [{ clockTolerance: -5 }, T, "expired"],
    ];
    for (const [options, now, expected] of cases) {
      at(now);
      assert.equal(await reason(make(options).verify(edge)), expected, `${JSON.stringify(options)} at T${now - T >= 0 ? "+" : ""}${now - T}`);
    }
  });

  test("exp is required and every registered claim has its type", async () => {
    at(T);
    const cases: Record<string, Record<string, unknown>> = {
      "no exp": { exp: undefined },
      "exp as a string": { exp: String(T + 600) },
      "exp with a fraction": { exp: T + 600.5 },
      "iat as a string": { iat: String(T) },
      "iat with a fraction": { iat: T + 0.5 },
      "nbf as a string": { nbf: String(T) },
      "jti empty": { jti: "" },
      "jti a number": { jti: 5 },
    };
    for (const [what, members] of Object.entries(cases)) assert.equal(await reason(codec.verify(token({ userId: 1, ...members }))), "bad_claims", what);
    const strictJti = make({ requireJti: true });
    assert.equal(await reason(strictJti.verify(token({ userId: 1 }))), "bad_claims");
    assert.equal(await reason(strictJti.verify(token({ userId: 1, jti: "j" }))), "accepted");
    assert.equal(await reason(strictJti.verify((await codec.issue({ userId: 1n })).token)), "accepted", "issued tokens carry a jti");
  });
});

describe("header and key selection", () => {
  test("the syntax and the header are checked before any key is used", async () => {
    at(T);
    const good = token({ userId: 1 });
    const [h, p, s] = good.split(".") as [string, string, string];
    const cases: Record<string, [string, AuthErrorReason]> = {
      "padding": [`${h}.${p}=.${s}`, "malformed"],
      "two segments": [`${h}.${p}`, "malformed"],
      "a duplicate member in the payload": [sign(header, `{"userId":1,"exp":${T + 600},"userId":2}`), "malformed"],
      "a payload that is not an object": [sign(header, "[1]"), "malformed"],
      "a header that is not JSON": [`${b64("{alg")}.${p}.${s}`, "malformed"],
      "an unknown kid": [token({ userId: 1 }, { ...header, kid: "no-such-key" }), "unknown_key"],
      "an empty kid": [token({ userId: 1 }, { ...header, kid: "" }), "malformed"],
      "a numeric kid": [token({ userId: 1 }, { ...header, kid: 5 }), "malformed"],
      "crit": [token({ userId: 1 }, { ...header, crit: ["exp"] }), "malformed"],
      "b64": [token({ userId: 1 }, { ...header, b64: false }), "malformed"],
      "alg none": [token({ userId: 1 }, { ...header, alg: "none" }), "bad_algorithm"],
      "alg HS512": [token({ userId: 1 }, { ...header, alg: "HS512" }), "bad_algorithm"],
      "no alg": [token({ userId: 1 }, { ...header, alg: undefined }), "bad_algorithm"],
      "RS256 named on an HS256 key": [token({ userId: 1 }, { ...header, alg: "RS256" }), "bad_algorithm"],
      "RS256 without kid on an HS256 ring": [token({ userId: 1 }, { alg: "RS256", typ: "JWT" }), "bad_algorithm"],
      "another signature": [`${h}.${p}.${b64("x".repeat(32))}`, "bad_signature"],
      "a short signature": [`${h}.${p}.${b64("x".repeat(31))}`, "bad_signature"],
    };
    for (const [what, [t, expected]] of Object.entries(cases)) assert.equal(await reason(codec.verify(t)), expected, what);
    assert.equal(await reason(codec.verify(good)), "accepted");
    // jwk, jku, x5u and x5c never supply a key
    assert.equal(await reason(codec.verify(token({ userId: 1 }, { ...header, jku: "http://127.0.0.1:1/jwks", jwk: { kty: "oct", k: "eA" } }))), "accepted");
    assert.equal(await reason(codec.verify(sign({ ...header, jwk: { kty: "oct", k: b64("attacker") } }, { userId: 1, iat: T, exp: T + 600 }, "attacker"))), "bad_signature");
  });

  test("algorithm confusion: an HS256 token keyed with an RS256 ring's public key is refused", async () => {
    at(T);
    const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048, publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs8", format: "pem" } });
    const rsa = await verificationKeyFromPem(publicKey, "rsa public");
    const rsaRing: KeyRing = createKeyRing({ verifyKeys: [rsa] });
    const verifier = make({ keys: rsaRing });
    const payload = { userId: 1, iat: T, exp: T + 600 };
    const asSecrets = [publicKey, Buffer.from(publicKey), JSON.stringify(rsa.jwk)];
    for (const s of asSecrets) {
      assert.equal(await reason(verifier.verify(sign({ alg: "HS256", typ: "JWT", kid: rsa.kid }, payload, s))), "bad_algorithm", "the key's kid, another alg");
      assert.equal(await reason(verifier.verify(sign({ alg: "HS256", typ: "JWT" }, payload, s))), "bad_algorithm", "no kid");
    }
  });

  test("a previous secret verifies but does not sign; a retired one no longer verifies", async () => {
    at(T);
    const oldKey = await hmacKey("the-previous-secret-0123456789abcdef");
    const newKey = await hmacKey("the-current-secret-0123456789abcdefg");
    const before = make({ keys: createKeyRing({ signing: oldKey }) });
    const rotated = make({ keys: createKeyRing({ signing: newKey, verifyKeys: [oldKey.verify] }) });
    const retired = make({ keys: createKeyRing({ signing: newKey }) });

    const oldToken = (await before.issue({ userId: 1n })).token;
    assert.equal((await rotated.verify(oldToken)).claims.userId, 1n);
    const newToken = (await rotated.issue({ userId: 2n })).token;
    assert.equal((decodeSegments(newToken)[0] as { kid: string }).kid, newKey.kid);
    assert.notEqual(newKey.kid, oldKey.kid);
    assert.equal(await reason(before.verify(newToken)), "unknown_key", "signed with the new key, not the previous one");
    assert.equal(await reason(retired.verify(oldToken)), "unknown_key");
    assert.equal(await reason(retired.verify(newToken)), "accepted");

    // a go-zero token has no kid: every HS256 key of the ring is tried
    const payload = { userId: 3, iat: T, exp: T + 600 };
    assert.equal(await reason(rotated.verify(sign({ alg: "HS256" }, payload, "the-previous-secret-0123456789abcdef"))), "accepted");
    assert.equal(await reason(rotated.verify(sign({ alg: "HS256" }, payload, "the-current-secret-0123456789abcdefg"))), "accepted");
    assert.equal(await reason(rotated.verify(sign({ alg: "HS256" }, payload, "someone-else-0123456789abcdef"))), "bad_signature");
    assert.equal(await reason(retired.verify(sign({ alg: "HS256" }, payload, "the-previous-secret-0123456789abcdef"))), "bad_signature");
  });
});
