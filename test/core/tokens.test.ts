import assert from "node:assert/strict";
import { createHmac, generateKeyPairSync } from "node:crypto";
import { describe, test } from "node:test";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { signingKeyFromPem, verificationKeyFromPem, type KeySet, type VerificationKey } from "protogate/jwt";
import { createTokenService, refreshTokenType, secretKeyId, type TokenServiceOptions } from "../../src/auth/tokens.js";
import { rejection } from "../rejection.js";
import { coreSecret, manualClock } from "./support.js";

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
/** Signs any header and payload with HS256 (kid of `secret` unless the header says otherwise). */
function hmacToken(secret: string, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const input = `${b64({ alg: "HS256", kid: secretKeyId(secret), ...header })}.${b64(payload)}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}


const start = Date.UTC(2026, 0, 1);
const now = start / 1000;
const service = (o: Partial<TokenServiceOptions> = {}) => createTokenService({ secret: coreSecret, accessExpire: 3600, clock: manualClock(start), ...o });
const otherSecret = "another-secret-0123456789-ABCDEFGHIJKLMNOP";

function ecKeys() {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return {
    signing: () => signingKeyFromPem(privateKey.export({ type: "pkcs8", format: "pem" }).toString(), "ES256", "test"),
    verify: () => verificationKeyFromPem(publicKey.export({ type: "spki", format: "pem" }).toString(), "test"),
  };
}

describe("token service: access tokens", () => {
  test("issue: HS256 with the salted kid, iat = now, exp = iat + AccessExpire, a jti; nothing else returned", async () => {
    const tokens = await service({ accessExpire: 1234 });
    const issued = await tokens.issue(42);
    assert.deepEqual(Object.keys(issued).sort(), ["exp", "iat", "token"]);
    assert.equal(issued.iat, now);
    assert.equal(issued.exp, now + 1234);
    assert.deepEqual(decodeProtectedHeader(issued.token), { alg: "HS256", typ: "JWT", kid: secretKeyId(coreSecret) });
    const payload = decodeJwt(issued.token);
    assert.deepEqual(Object.keys(payload), ["userId", "iat", "exp", "jti"]);
    assert.equal(payload.userId, 42);
    const verified = await tokens.verify(issued.token);
    assert.equal(verified.claims.userId, 42n);
    assert.deepEqual(verified.claims.roles, []);
    assert.equal(verified.claims.sid, undefined);
    assert.deepEqual([verified.iat, verified.exp, verified.jti], [now, now + 1234, payload.jti]);
  });

  test("the kid of a secret is salted with the application's name (tokens in the wild carry it)", () => {
    assert.equal(secretKeyId(coreSecret), "QZGKg-78OaZaMBne");
  });

  test("issue carries roles and the session id when given", async () => {
    const tokens = await service();
    const roles = ["admin", "reader"];
    const { token } = await tokens.issue(7, { roles, sid: "session-1" });
    assert.deepEqual(decodeJwt(token).roles, ["admin", "reader"]);
    const { claims } = await tokens.verify(token);
    assert.deepEqual(claims.roles, ["admin", "reader"]);
    assert.equal(claims.sid, "session-1");
    const onlySid = await tokens.verify((await tokens.issue(7, { sid: "s" })).token);
    assert.deepEqual(onlySid.claims.roles, []);
  });

  test("who gets in: a positive user id; a session id, when present, not empty; claims it does not declare ignored", async () => {
    const tokens = await service();
    const claims = { iat: now, exp: now + 60 };
    assert.equal((await tokens.verify(hmacToken(coreSecret, { typ: "JWT" }, { userId: 1, ...claims }))).claims.userId, 1n);
    assert.equal(await rejection(tokens.verify(hmacToken(coreSecret, {}, { userId: 0, ...claims }))), "bad_claims");
    assert.equal(await rejection(tokens.verify(hmacToken(coreSecret, {}, { userId: -1, ...claims }))), "bad_claims");
    assert.equal(await rejection(tokens.verify(hmacToken(coreSecret, {}, { userId: 1, sid: "", ...claims }))), "bad_claims");
    assert.equal((await tokens.verify(hmacToken(coreSecret, {}, { userId: 1, sid: "s", ...claims }))).claims.sid, "s");
    const extra = await tokens.verify(hmacToken(coreSecret, {}, { userId: 3, nickname: "go-zero", ...claims }));
    assert.equal(extra.claims.userId, 3n, "an undeclared claim is ignored in an access token");
    assert.equal(await rejection(tokens.verify(hmacToken(otherSecret, { kid: secretKeyId(coreSecret) }, { userId: 1, ...claims }))), "bad_signature");
  });

  test("expiry: exp = iat + AccessExpire; within the default 30 s leeway still valid, at its end expired", async () => {
    const clock = manualClock(start);
    const tokens = await service({ clock, accessExpire: 100 });
    const { token } = await tokens.issue(1);
    clock.advance((100 + 29) * 1000);
    assert.equal((await tokens.verify(token)).claims.userId, 1n);
    clock.advance(1000);
    assert.equal(await rejection(tokens.verify(token)), "expired");
  });

  test("clockTolerance is passed on: 0 s refuses at exp", async () => {
    const clock = manualClock(start);
    const tokens = await service({ clock, accessExpire: 100, clockTolerance: 0 });
    const { token } = await tokens.issue(1);
    const refresh = (await tokens.issueRefresh(1, "s")).token;
    clock.advance(99_000);
    assert.equal((await tokens.verify(token)).claims.userId, 1n);
    clock.advance(1000);
    assert.equal(await rejection(tokens.verify(token)), "expired");
    assert.equal((await tokens.verifyRefresh(refresh)).userId, 1, "the refresh token lives on");
    const long = await service({ clock: manualClock(start), refreshExpire: 100, clockTolerance: 0 });
    const r = (await long.issueRefresh(1, "s")).token;
    const late = await service({ clock: manualClock(start + 100_000), refreshExpire: 100, clockTolerance: 0 });
    assert.equal(await rejection(late.verifyRefresh(r)), "expired", "refresh tokens get the same leeway");
  });

  test("issuer and audience are issued and required, on both kinds of token", async () => {
    const tokens = await service({ issuer: "bookstore", audience: "bookstore-api" });
    const { token } = await tokens.issue(1);
    assert.equal(decodeJwt(token).iss, "bookstore");
    assert.equal(decodeJwt(token).aud, "bookstore-api");
    assert.equal((await tokens.verify(token)).claims.userId, 1n);
    const plain = await service();
    assert.equal(await rejection(tokens.verify((await plain.issue(1)).token)), "bad_claims", "no iss/aud: refused");
    assert.equal(await rejection(plain.verify(token)), "bad_claims", "an audience we are not");
    const otherIss = await service({ issuer: "elsewhere", audience: "bookstore-api" });
    assert.equal(await rejection(otherIss.verify(token)), "bad_claims");
    const otherAud = await service({ issuer: "bookstore", audience: "other-api" });
    assert.equal(await rejection(otherAud.verify(token)), "bad_claims");
    const refresh = (await tokens.issueRefresh(1, "s")).token;
    assert.equal(decodeJwt(refresh).iss, "bookstore");
    assert.equal((await tokens.verifyRefresh(refresh)).userId, 1);
    assert.equal(await rejection(otherIss.verifyRefresh(refresh)), "bad_claims");
    assert.equal(await rejection(plain.verifyRefresh(refresh)), "bad_claims");
  });
});

describe("token service: refresh tokens", () => {
  test("issueRefresh: typ refresh+jwt, the session id and a jti, valid 30 days by default; verifyRefresh returns them frozen", async () => {
    const tokens = await service();
    const issued = await tokens.issueRefresh(7, "sess");
    assert.equal(refreshTokenType, "refresh+jwt");
    assert.deepEqual(decodeProtectedHeader(issued.token), { alg: "HS256", typ: "refresh+jwt", kid: secretKeyId(coreSecret) });
    assert.equal(issued.iat, now);
    assert.equal(issued.exp, now + 30 * 24 * 3600);
    assert.equal(typeof issued.jti, "string");
    const claims = await tokens.verifyRefresh(issued.token);
    assert.deepEqual(claims, { userId: 7, sid: "sess", jti: issued.jti, exp: now + 2_592_000 });
    assert.ok(Object.isFrozen(claims));
  });

  test("refreshExpire sets the refresh lifetime", async () => {
    const tokens = await service({ refreshExpire: 500 });
    assert.equal((await tokens.issueRefresh(7, "s")).exp, now + 500);
  });

  test("the two kinds are not interchangeable", async () => {
    const tokens = await service();
    const access = (await tokens.issue(7, { sid: "s" })).token;
    const refresh = (await tokens.issueRefresh(7, "s")).token;
    assert.equal(await rejection(tokens.verifyRefresh(access)), "bad_claims");
    assert.equal(await rejection(tokens.verify(refresh)), "bad_claims");
  });

  test("who gets a refresh: a jti, a positive user id, a non-empty session id, nothing undeclared", async () => {
    const tokens = await service();
    const base = { userId: 7, sid: "s", iat: now, exp: now + 60, jti: "j" };
    const typ = { typ: refreshTokenType };
    assert.deepEqual(await tokens.verifyRefresh(hmacToken(coreSecret, typ, base)), { userId: 7, sid: "s", jti: "j", exp: now + 60 });
    const { jti: _, ...noJti } = base;
    assert.equal(await rejection(tokens.verifyRefresh(hmacToken(coreSecret, typ, noJti))), "bad_claims");
    assert.equal(await rejection(tokens.verifyRefresh(hmacToken(coreSecret, typ, { ...base, userId: 0 }))), "bad_claims");
    assert.equal(await rejection(tokens.verifyRefresh(hmacToken(coreSecret, typ, { ...base, sid: "" }))), "bad_claims");
    assert.equal(await rejection(tokens.verifyRefresh(hmacToken(coreSecret, typ, { ...base, roles: ["admin"] }))), "bad_claims");
    assert.equal(await rejection(tokens.verifyRefresh(hmacToken(coreSecret, typ, { ...base, extra: 1 }))), "bad_claims");
  });
});

describe("token service: keys", () => {
  test("a previous secret verifies what it signed but never signs; without it those tokens are refused", async () => {
    const old = await service({ secret: otherSecret });
    const oldToken = (await old.issue(5)).token;
    const oldRefresh = (await old.issueRefresh(5, "s")).token;
    const rotated = await service({ previousSecret: otherSecret });
    assert.equal((await rotated.verify(oldToken)).claims.userId, 5n);
    assert.equal((await rotated.verifyRefresh(oldRefresh)).userId, 5);
    assert.equal(decodeProtectedHeader((await rotated.issue(5)).token).kid, secretKeyId(coreSecret), "signs with the current secret");
    assert.equal(await rejection((await service()).verify(oldToken)), "unknown_key");
    const empty = await service({ previousSecret: "" });
    assert.equal(await rejection(empty.verify(oldToken)), "unknown_key", "an empty previous secret is none");
  });

  test("without a secret or signing key the service only verifies", async () => {
    const verifier = await createTokenService({ accessExpire: 3600, clock: manualClock(start), previousSecret: coreSecret });
    assert.equal((await verifier.verify((await (await service()).issue(3)).token)).claims.userId, 3n);
    await assert.rejects(verifier.issue(3));
    await assert.rejects(verifier.issueRefresh(3, "s"));
  });

  test("a signing key pair signs (ES256), publishes its public JWK; secrets publish nothing", async () => {
    const ec = ecKeys();
    const signing = await ec.signing();
    const tokens = await service({ secret: undefined, signing });
    const { token } = await tokens.issue(9);
    assert.equal(decodeProtectedHeader(token).alg, "ES256");
    assert.equal((await tokens.verify(token)).claims.userId, 9n);
    const jwks = tokens.publicJwks();
    assert.equal(jwks.length, 1);
    assert.equal(jwks[0]!.kty, "EC");
    assert.equal(jwks[0]!.d, undefined, "never the private part");
    assert.deepEqual((await service()).publicJwks(), []);
    // a signing key wins over a secret
    const both = await service({ signing });
    assert.equal(decodeProtectedHeader((await both.issue(1)).token).alg, "ES256");
  });

  test("verifyKeys still verify tokens of retired key pairs", async () => {
    const ec = ecKeys();
    const retired = await service({ secret: undefined, signing: await ec.signing() });
    const token = (await retired.issue(4)).token;
    const current = await service({ verifyKeys: [await ec.verify()] });
    assert.equal((await current.verify(token)).claims.userId, 4n);
    assert.equal(current.publicJwks().length, 1);
    assert.equal(await rejection((await service()).verify(token)), "unknown_key");
  });

  test("remote keys are consulted for an unknown kid, and their version is the service's", async () => {
    const ec = ecKeys();
    const elsewhere = await service({ secret: undefined, signing: await ec.signing() });
    const token = (await elsewhere.issue(6)).token;
    const key: VerificationKey = await ec.verify();
    let version = 1;
    const remote: KeySet = { candidates: (kid) => (kid === key.kid ? [key] : []), version: () => version };
    const tokens = await service({ remoteKeys: remote });
    assert.equal((await tokens.verify(token)).claims.userId, 6n);
    const v1 = tokens.keysVersion();
    version = 2;
    assert.notEqual(tokens.keysVersion(), v1);
    assert.equal((await service()).keysVersion(), 0);
    assert.deepEqual(tokens.publicJwks(), [], "remote keys are not ours to publish");
  });
});
