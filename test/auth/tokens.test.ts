import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, test } from "node:test";
import { decodeJwt, decodeProtectedHeader, SignJWT } from "jose";
import type { TokenRejection } from "protogate";
import { createTokenService, secretKeyId } from "../../src/auth/tokens.js";
import { manualClock, testSecret } from "../harness.js";
import { rejection } from "../rejection.js";

const b64 = (v: unknown) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");

/** Signs header.payload with HMAC, for tokens jose would refuse to make. */
function hmacToken(secret: string, header: unknown, payload: unknown, hash = "sha256"): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac(hash, secret).update(input).digest("base64url")}`;
}


describe("token service", async () => {
  const secret = testSecret();
  const clock = manualClock(Date.UTC(2026, 0, 1));
  const tokens = await createTokenService({ secret, accessExpire: 3600, clock });
  const now = Math.floor(clock.now() / 1000);

  test("remembered headers change nothing: many distinct headers verify, a known header with a bad signature does not", async () => {
    const claims = { userId: 5, iat: now, exp: now + 60 };
    for (let i = 0; i < 100; i++) {
      const token = hmacToken(secret, { alg: "HS256", typ: "JWT", n: i % 40 }, claims);
      assert.equal((await tokens.verify(token)).claims.userId, 5n);
      const forged = token.slice(0, token.lastIndexOf(".") + 1) + hmacToken(testSecret(), { alg: "HS256" }, claims).split(".")[2];
      assert.equal(await rejection(tokens.verify(forged)), "bad_signature");
    }
    assert.equal(await rejection(tokens.verify(hmacToken(secret, { alg: "HS256", typ: "JWT", n: 1, crit: ["n"] }, claims))), "malformed");
  });

  test("issues the tutorial's claims and verifies them", async () => {
    const issued = await tokens.issue(42);
    assert.equal(issued.iat, now);
    assert.equal(issued.exp, now + 3600);
    assert.deepEqual(decodeProtectedHeader(issued.token), { alg: "HS256", typ: "JWT", kid: secretKeyId(secret) });
    const payload = decodeJwt(issued.token);
    assert.equal(payload.userId, 42);
    assert.equal(payload.iat, now);
    assert.equal(payload.exp, now + 3600);
    assert.equal(typeof payload.jti, "string");
    assert.deepEqual(Object.keys(payload), ["userId", "iat", "exp", "jti"], "the payload carries the tutorial's claims and nothing else");
    const { claims, ...registered } = await tokens.verify(issued.token);
    assert.deepEqual(registered, { iat: now, exp: now + 3600, jti: payload.jti });
    assert.equal(claims.$typeName, "user.v1.AccessClaims");
    assert.equal(claims.userId, 42n);
    assert.deepEqual(claims.roles, []);
    assert.equal(claims.sid, undefined);
  });

  test("accepts a token made the go-zero way (golang-jwt HS256 MapClaims)", async () => {
    const token = hmacToken(secret, { alg: "HS256", typ: "JWT" }, { exp: now + 100, iat: now, userId: 7 });
    assert.equal((await tokens.verify(token)).claims.userId, 7n);
  });

  test("expired, beyond the clock tolerance", async () => {
    const { token } = await tokens.issue(1);
    clock.advance(3600_000 + 31_000);
    try {
      assert.equal(await rejection(tokens.verify(token)), "expired");
    } finally {
      clock.advance(-(3600_000 + 31_000));
    }
  });

  const cases: [string, () => Promise<string>, TokenRejection][] = [
    ["wrong secret", () => Promise.resolve(hmacToken(testSecret(), { alg: "HS256" }, { exp: now + 60, userId: 1 })), "bad_signature"],
    ["alg none with a signature", () => Promise.resolve(`${b64({ alg: "none" })}.${b64({ exp: now + 60, userId: 1 })}.AAAA`), "bad_algorithm"],
    ["alg none unsigned", () => Promise.resolve(`${b64({ alg: "none" })}.${b64({ exp: now + 60, userId: 1 })}.`), "malformed"],
    ["HS512 with the same secret", () => new SignJWT({ userId: 1 }).setProtectedHeader({ alg: "HS512" }).setExpirationTime(now + 60).sign(Buffer.from(secret)), "bad_algorithm"],
    ["HS384 with the same secret", () => Promise.resolve(hmacToken(secret, { alg: "HS384" }, { exp: now + 60, userId: 1 }, "sha384")), "bad_algorithm"],
    ["no exp", () => Promise.resolve(hmacToken(secret, { alg: "HS256" }, { userId: 1 })), "bad_claims"],
    ["exp as a string", () => Promise.resolve(hmacToken(secret, { alg: "HS256" }, { exp: String(now + 60), userId: 1 })), "bad_claims"],
    ["lifetime beyond AccessExpire", () => Promise.resolve(hmacToken(secret, { alg: "HS256" }, { iat: now, exp: now + 7200, userId: 1 })), "bad_claims"],
    ["iat in the future", () => Promise.resolve(hmacToken(secret, { alg: "HS256" }, { iat: now + 600, exp: now + 700, userId: 1 })), "not_yet_valid"],
    ["nbf in the future", () => Promise.resolve(hmacToken(secret, { alg: "HS256" }, { nbf: now + 600, exp: now + 700, userId: 1 })), "not_yet_valid"],
    ["an audience nobody configured", () => Promise.resolve(hmacToken(secret, { alg: "HS256" }, { aud: "other", exp: now + 60, userId: 1 })), "bad_claims"],
    ["userId as a string", () => Promise.resolve(hmacToken(secret, { alg: "HS256" }, { exp: now + 60, userId: "1" })), "bad_claims"],
    ["userId missing", () => Promise.resolve(hmacToken(secret, { alg: "HS256" }, { exp: now + 60 })), "bad_claims"],
    ["typ of another kind", () => Promise.resolve(hmacToken(secret, { alg: "HS256", typ: "refresh+jwt" }, { exp: now + 60, userId: 1 })), "bad_claims"],
    ["unknown crit header", () => Promise.resolve(hmacToken(secret, { alg: "HS256", crit: ["x"], x: 1 }, { exp: now + 60, userId: 1 })), "malformed"],
    ["payload not JSON", () => Promise.resolve(hmacToken(secret, { alg: "HS256" }, "not json")), "malformed"],
    ["garbage", () => Promise.resolve("abc"), "malformed"],
  ];
  for (const [name, make, want] of cases) {
    test(`refuses: ${name}`, async () => assert.equal(await rejection(tokens.verify(await make())), want));
  }

  test("tampered payload keeps the original signature and fails", async () => {
    const { token } = await tokens.issue(1);
    const [h, , s] = token.split(".");
    const forged = `${h}.${b64({ ...decodeJwt(token), userId: 2 })}.${s}`;
    assert.equal(await rejection(tokens.verify(forged)), "bad_signature");
  });

  test("padding or a changed final character of the signature is refused before decoding", async () => {
    const { token } = await tokens.issue(1);
    assert.equal(await rejection(tokens.verify(token + "=")), "malformed");
    const last = token.at(-1)!;
    // the last of 43 chars carries 2 unused bits: a neighbour decodes to the same bytes
    const alias = token.slice(0, -1) + String.fromCharCode(last.charCodeAt(0) + 1);
    assert.equal(await rejection(tokens.verify(alias)), "malformed");
  });
});

describe("key rotation and configured claims", async () => {
  const clock = manualClock(Date.UTC(2026, 0, 1));
  const [oldSecret, newSecret] = [testSecret(), testSecret()];
  const before = await createTokenService({ secret: oldSecret, accessExpire: 3600, clock });
  const during = await createTokenService({ secret: newSecret, previousSecret: oldSecret, accessExpire: 3600, clock });
  const after = await createTokenService({ secret: newSecret, accessExpire: 3600, clock });
  const now = Math.floor(clock.now() / 1000);

  test("PrevAccessSecret: old tokens verify until the previous secret is removed; new ones use the new key", async () => {
    const old = (await before.issue(1)).token;
    assert.equal((await during.verify(old)).claims.userId, 1n);
    assert.equal(await rejection(after.verify(old)), "unknown_key");
    const fresh = (await during.issue(2)).token;
    assert.equal(decodeProtectedHeader(fresh).kid, secretKeyId(newSecret));
    assert.equal(await rejection(before.verify(fresh)), "unknown_key");
    assert.equal((await after.verify(fresh)).claims.userId, 2n);
  });

  test("go-zero's tokens (no kid) are tried with the current then the previous secret", async () => {
    assert.equal((await during.verify(hmacToken(oldSecret, { alg: "HS256", typ: "JWT" }, { exp: now + 60, iat: now, userId: 3 }))).claims.userId, 3n);
    assert.equal((await during.verify(hmacToken(newSecret, { alg: "HS256", typ: "JWT" }, { exp: now + 60, iat: now, userId: 4 }))).claims.userId, 4n);
  });

  test("a kid naming no current key is refused, even with a good signature", async () => {
    const t = hmacToken(newSecret, { alg: "HS256", kid: "retired" }, { exp: now + 60, userId: 1 });
    assert.equal(await rejection(during.verify(t)), "unknown_key");
  });

  test("configured iss and aud are set on issue and required on verify", async () => {
    const scoped = await createTokenService({ secret: newSecret, accessExpire: 3600, clock, issuer: "https://auth.example", audience: "bookstore" });
    const { token } = await scoped.issue(5);
    const payload = decodeJwt(token);
    assert.deepEqual([payload.iss, payload.aud], ["https://auth.example", "bookstore"]);
    assert.equal((await scoped.verify(token)).claims.userId, 5n);
    const wrong = (p: Record<string, unknown>) => hmacToken(newSecret, { alg: "HS256" }, { exp: now + 60, userId: 1, ...p });
    assert.equal(await rejection(scoped.verify(wrong({ iss: "https://auth.example", aud: "other" }))), "bad_claims");
    assert.equal(await rejection(scoped.verify(wrong({ iss: "https://evil.example", aud: "bookstore" }))), "bad_claims");
    assert.equal(await rejection(scoped.verify(wrong({ aud: "bookstore" }))), "bad_claims");
    assert.equal(await rejection(after.verify(token)), "bad_claims", "a service with no issuer configured refuses one");
  });

  test("the clock tolerance is configurable and capped at 60 s", async () => {
    const strict = await createTokenService({ secret: newSecret, accessExpire: 3600, clock, clockTolerance: 0 });
    const lax = await createTokenService({ secret: newSecret, accessExpire: 3600, clock, clockTolerance: 600 });
    const justExpired = hmacToken(newSecret, { alg: "HS256" }, { iat: now - 100, exp: now - 10, userId: 1 });
    assert.equal(await rejection(strict.verify(justExpired)), "expired");
    assert.equal((await during.verify(justExpired)).claims.userId, 1n, "within the default 30 s");
    const longExpired = hmacToken(newSecret, { alg: "HS256" }, { iat: now - 200, exp: now - 90, userId: 1 });
    assert.equal(await rejection(lax.verify(longExpired)), "expired", "600 is capped at 60");
  });
});
