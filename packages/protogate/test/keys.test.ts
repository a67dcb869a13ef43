import assert from "node:assert/strict";
import { createPrivateKey, generateKeyPairSync, sign as nodeSign, type KeyObject } from "node:crypto";
import { test } from "node:test";
import { createKeyRing, hmacKey, KeyError, localKeySet, secretKeyId, signingKeyFromPem, verificationKeyFromJwk, verificationKeyFromPem, type VerificationKey } from "../src/jwt/index.js";

// keys.ts on its own: which keys it takes, which it refuses (and with what message), and that
// each verifier accepts exactly its own signatures.

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const ed = generateKeyPairSync("ed25519");
const jwkOf = (k: KeyObject) => k.export({ format: "jwk" }) as Record<string, unknown>;
const pem = (k: KeyObject) => k.export({ format: "pem", type: k.type === "private" ? "pkcs8" : "spki" }).toString();

const input = "eyJhbGciOiJFUzI1NiJ9.eyJ1c2VySWQiOjF9";
const signatures = {
  RS256: nodeSign("sha256", Buffer.from(input), rsa.privateKey),
  ES256: nodeSign("sha256", Buffer.from(input), { key: ec.privateKey, dsaEncoding: "ieee-p1363" }),
  EdDSA: nodeSign(null, Buffer.from(input), ed.privateKey),
};

/** The key verifies its own signature, and refuses it altered, cut, lengthened or over other input. */
function verifiesOnly(key: VerificationKey, signature: Buffer) {
  assert.equal(key.verify(input, signature), true, `${key.alg}: its own signature`);
  assert.equal(key.verify(`${input}x`, signature), false, `${key.alg}: other input`);
  const flipped = Buffer.from(signature);
  flipped[5]! ^= 1;
  assert.equal(key.verify(input, flipped), false, `${key.alg}: a changed byte`);
  assert.equal(key.verify(input, signature.subarray(0, signature.length - 1)), false, `${key.alg}: cut`);
  assert.equal(key.verify(input, Buffer.concat([signature, Buffer.alloc(1)])), false, `${key.alg}: lengthened`);
}

test("KeyError names itself", () => {
  assert.equal(new KeyError("x").name, "KeyError");
});

test("secretKeyId: 16 base64url characters of a salted hash; salt and secret each change it", () => {
  const s = "a-secret-0123456789abcdef0123456789";
  assert.match(secretKeyId(s), /^[A-Za-z0-9_-]{16}$/);
  assert.equal(secretKeyId(s), secretKeyId(s, "protogate"));
  assert.notEqual(secretKeyId(s), secretKeyId(s, "another-app"));
  assert.notEqual(secretKeyId(s), secretKeyId(`${s}x`));
  // the salt is hashed in its own framing, not merely prepended to the secret
  assert.notEqual(secretKeyId(s, ""), secretKeyId(s, "protogate"));
  assert.equal(secretKeyId("x", "app"), "iq8KfiUrc1jwD3j6", "the value is part of every token's kid: it must not change between versions");
});

test("hmacKey: refusals say why, never quoting the secret; its verifier takes only its own 32-byte MACs", async () => {
  await assert.rejects(hmacKey("short-secret"), { name: "KeyError", message: "an HS256 secret needs at least 32 bytes; this one has 12" });
  await assert.rejects(hmacKey("ab".repeat(16)), { name: "KeyError", message: "an HS256 secret needs at least 8 distinct characters" });
  const key = await hmacKey("hmac-test-secret-0123456789abcdefgh");
  assert.equal(key.alg, "HS256");
  assert.equal(key.kid, secretKeyId("hmac-test-secret-0123456789abcdefgh"));
  assert.equal((await hmacKey("hmac-test-secret-0123456789abcdefgh", { kid: "mine" })).kid, "mine");
  assert.equal(key.sign.extractable, false, "the secret cannot be read back out of the signing key");
  const { createHmac } = await import("node:crypto");
  const mac = createHmac("sha256", "hmac-test-secret-0123456789abcdefgh").update(input).digest();
  verifiesOnly(key.verify, mac);
  // a latin1 signing input is hashed byte for byte
  const odd = "\u00e9.\u00ff";
  assert.equal(key.verify.verify(odd, createHmac("sha256", "hmac-test-secret-0123456789abcdefgh").update(Buffer.from(odd, "latin1")).digest()), true);
});

test("PEM keys: the algorithm follows the type; refusals name where the key came from and what is wrong", async () => {
  for (const [pair, alg] of [[rsa, "RS256"], [ec, "ES256"], [ed, "EdDSA"]] as const) {
    const signing = await signingKeyFromPem(pem(pair.privateKey), alg, "SIGNING_KEY");
    assert.equal(signing.alg, alg);
    verifiesOnly(signing.verify, signatures[alg]);
    const verifying = await verificationKeyFromPem(pem(pair.publicKey), "VERIFY_KEY_FILES");
    assert.equal(verifying.alg, alg);
    assert.equal(verifying.kid, signing.kid);
    verifiesOnly(verifying, signatures[alg]);
    assert.deepEqual([verifying.jwk?.kid, verifying.jwk?.alg, verifying.jwk?.use], [signing.kid, alg, "sig"]);
  }
  await assert.rejects(signingKeyFromPem(pem(ec.privateKey), "RS256", "SIGNING_KEY"), { name: "KeyError", message: "SIGNING_KEY: this is a ES256 key, not RS256" });
  await assert.rejects(signingKeyFromPem("not a key", "RS256", "SIGNING_KEY"), { name: "KeyError", message: "SIGNING_KEY: not a PEM private key" });
  await assert.rejects(verificationKeyFromPem("not a key", "k.pem"), { name: "KeyError", message: "k.pem: not a PEM public key" });
  const x448 = generateKeyPairSync("x448");
  await assert.rejects(verificationKeyFromPem(pem(x448.publicKey), "k.pem"), {
    name: "KeyError",
    message: "k.pem: unsupported key type x448 (use RSA, EC P-256 or Ed25519)",
  });
  const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" });
  await assert.rejects(verificationKeyFromPem(pem(p384.publicKey), "k.pem"), { message: "k.pem: EC keys must be on P-256 (ES256)" });
  // a private key given where a public one is expected keeps only its public half
  assert.equal((await verificationKeyFromPem(pem(createPrivateKey(pem(ed.privateKey))), "k.pem")).alg, "EdDSA");
});

test("verificationKeyFromJwk takes RSA, EC P-256 and Ed25519 public keys for signatures, each verifying only its own", () => {
  for (const [pair, alg] of [[rsa, "RS256"], [ec, "ES256"], [ed, "EdDSA"]] as const) {
    const jwk = { ...jwkOf(pair.publicKey), kid: `k-${alg}` };
    for (const extra of [{}, { use: "sig" }, { alg }]) {
      const key = verificationKeyFromJwk({ ...jwk, ...extra });
      assert.ok(key, `${alg} ${JSON.stringify(extra)}`);
      assert.deepEqual([key.kid, key.alg], [`k-${alg}`, alg]);
      verifiesOnly(key, signatures[alg]);
      // published again with only its public members, and the use and algorithm it is held to
      const members = alg === "RS256" ? ["alg", "e", "kid", "kty", "n", "use"] : ["alg", "crv", "kid", "kty", "use", "x", ...(alg === "ES256" ? ["y"] : [])];
      assert.deepEqual(Object.keys(key.jwk!).sort(), members);
      assert.deepEqual([key.jwk!.use, key.jwk!.alg], ["sig", alg]);
    }
  }
  // Ed25519 JWKs are often published with "alg": "Ed25519" (RFC 9864's name)
  assert.equal(verificationKeyFromJwk({ ...jwkOf(ed.publicKey), kid: "e", alg: "Ed25519" })?.alg, "EdDSA");
  assert.equal(verificationKeyFromJwk({ ...jwkOf(ec.publicKey), kid: "k".repeat(256) })?.kid.length, 256, "a kid of 256 characters is the longest taken");
  // members that are not strings are left out, not copied
  assert.equal(verificationKeyFromJwk({ ...jwkOf(ec.publicKey), kid: "e", x5c: ["x"] })?.jwk?.x5c, undefined);
});

test("verificationKeyFromJwk refuses every key it is not to use", () => {
  const good: Record<string, unknown> = { ...jwkOf(ec.publicKey), kid: "ok" };
  assert.ok(verificationKeyFromJwk(good));
  const small = generateKeyPairSync("rsa", { modulusLength: 1024 });
  const refused: Record<string, Record<string, unknown>> = {
    "no kid": { ...good, kid: undefined },
    "a numeric kid": { ...good, kid: 7 },
    "an empty kid": { ...good, kid: "" },
    "a kid over 256 characters": { ...good, kid: "k".repeat(257) },
    "use enc": { ...good, use: "enc" },
    "use empty": { ...good, use: "" },
    ...Object.fromEntries(["d", "p", "q", "dp", "dq", "qi", "k"].map((m) => [`private member ${m}`, { ...good, [m]: "AQAB" }])),
    "an RSA private key": { ...jwkOf(rsa.privateKey), kid: "r" },
    "an EC private key": { ...jwkOf(ec.privateKey), kid: "e" },
    "an oct key": { kty: "oct", k: "c2VjcmV0", kid: "o" },
    "EC on P-384": { ...jwkOf(generateKeyPairSync("ec", { namedCurve: "P-384" }).publicKey), kid: "p" },
    "EC without a curve": { ...good, crv: undefined },
    "an EC curve with an OKP type": { ...good, kty: "OKP" },
    "OKP X25519": { ...jwkOf(generateKeyPairSync("x25519").publicKey), kid: "x" },
    "OKP without a curve": { ...jwkOf(ed.publicKey), kid: "e", crv: undefined },
    "Ed25519 with an EC type": { ...jwkOf(ed.publicKey), kid: "e", kty: "EC" },
    "no kty": { ...good, kty: undefined },
    "alg disagreeing with the type": { ...good, alg: "RS256" },
    "alg HS256 on a public key": { ...good, alg: "HS256" },
    "alg Ed25519 on an EC key": { ...good, alg: "Ed25519" },
    "alg ES256 on an RSA key": { ...jwkOf(rsa.publicKey), kid: "r", alg: "ES256" },
    "alg EdDSA on an RSA key": { ...jwkOf(rsa.publicKey), kid: "r", alg: "EdDSA" },
    "RSA under 2048 bits": { ...jwkOf(small.publicKey), kid: "s" },
    "a point off the curve": { ...good, y: good.x },
    "a broken modulus": { ...jwkOf(rsa.publicKey), kid: "r", n: 5 },
  };
  for (const [name, jwk] of Object.entries(refused)) assert.equal(verificationKeyFromJwk(jwk), undefined, name);
});

test("a key set answers a token without a kid with every key of its algorithm, and only those", async () => {
  const hs = await hmacKey("key-set-secret-0123456789abcdefghijk");
  const es = await verificationKeyFromPem(pem(ec.publicKey), "k.pem");
  const set = localKeySet([hs.verify, es]);
  assert.deepEqual(set.candidates(undefined, "HS256"), [hs.verify]);
  assert.deepEqual(set.candidates(undefined, "ES256"), [es]);
  assert.deepEqual(set.candidates(undefined, "RS256"), []);
  assert.deepEqual(set.candidates(es.kid, "HS256"), [es], "a kid names its key (whose algorithm the codec then checks)");
});

test("a key ring closes its remote set, and has nothing to close without one", async () => {
  let closed = 0;
  const remote = { candidates: () => [], close: () => void closed++ };
  createKeyRing({ remote }).close();
  assert.equal(closed, 1);
  createKeyRing({ remote: { candidates: () => [] } }).close();
  createKeyRing({ signing: await hmacKey("key-ring-secret-0123456789abcdefghijk") }).close();
});
