import assert from "node:assert/strict";
import { randomBytes, scryptSync } from "node:crypto";
import { after, describe, test } from "node:test";
import { hash as argon2Hash } from "@node-rs/argon2";
import { trace } from "@opentelemetry/api";
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-node";
import { createPasswordHasher, owaspArgon2id, type Argon2Params } from "../../src/auth/password.js";

const cheap: Argon2Params = { memoryKiB: 64, timeCost: 1, parallelism: 1 };
const hasher = createPasswordHasher({ params: cheap });

/** A real argon2id hash at any parameters (also ones the hasher refuses). */
const argon2 = (password: string, m: number, t: number, p: number) => argon2Hash(password, { memoryCost: m, timeCost: t, parallelism: p });

/** A legacy scrypt hash as earlier versions stored them. */
function scryptHash(password: string, o: { ln?: number; r?: number; p?: number; keyLength?: number } = {}): string {
  const { ln = 10, r = 8, p = 1, keyLength = 32 } = o;
  const salt = randomBytes(16);
  const N = 2 ** ln;
  const key = scryptSync(password.normalize("NFC"), salt, keyLength, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 });
  return `$scrypt$ln=${ln},r=${r},p=${p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

const composed = "caf\u00e9"; // é as one code point
const decomposed = "cafe\u0301"; // e + combining acute

describe("password hasher (argon2id)", () => {
  test("hash makes an argon2id PHC string at the configured parameters that verifies; a wrong password does not", async () => {
    const stored = await hasher.hash("correct horse");
    assert.match(stored, /^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    assert.equal(await hasher.verify("correct horse", stored), true);
    assert.equal(await hasher.verify("correct horsE", stored), false);
    assert.equal(await hasher.verify("", stored), false);
    assert.notEqual(await hasher.hash("correct horse"), stored, "salted: the same password hashes differently");
  });

  test("passwords are compared in NFC: composed and decomposed forms are the same password", async () => {
    assert.equal(await hasher.verify(decomposed, await hasher.hash(composed)), true);
    assert.equal(await hasher.verify(composed, await hasher.hash(decomposed)), true);
  });

  test("the OWASP defaults: m=19 MiB, t=2, p=1", async () => {
    assert.deepEqual(owaspArgon2id, { memoryKiB: 19456, timeCost: 2, parallelism: 1 });
    const owasp = createPasswordHasher();
    const stored = await owasp.hash("pw");
    assert.ok(stored.startsWith("$argon2id$v=19$m=19456,t=2,p=1$"), stored);
    assert.equal(await owasp.verify("pw", stored), true);
    assert.equal(owasp.needsRehash(stored), false);
    assert.equal(owasp.needsRehash(await hasher.hash("pw")), true, "cheaper parameters are rehashed");
    assert.equal(hasher.needsRehash(stored), true, "so are other ones");
  });

  test("needsRehash: only a hash at exactly the current parameters is kept", async () => {
    assert.equal(hasher.needsRehash(await hasher.hash("pw")), false);
    assert.equal(hasher.needsRehash(await argon2("pw", 640, 1, 1)), true, "m differs (and 64 is a prefix of 640)");
    assert.equal(hasher.needsRehash(await argon2("pw", 64, 2, 1)), true, "t differs");
    assert.equal(hasher.needsRehash(await argon2("pw", 64, 1, 2)), true, "p differs");
    assert.equal(hasher.needsRehash(scryptHash("pw")), true, "scrypt");
    assert.equal(hasher.needsRehash(""), true);
    assert.equal(hasher.needsRehash("x$argon2id$v=19$m=64,t=1,p=1$"), true);
  });

  test("stored parameters are bounded before any work: in range verifies, out of range is refused", async () => {
    // in range, at the edges
    assert.equal(await hasher.verify("pw", await argon2("pw", 8, 1, 1)), true, "m = 8 p");
    assert.equal(await hasher.verify("pw", await argon2("pw", 16, 1, 2)), true, "m = 8 p, p = 2");
    assert.equal(await hasher.verify("pw", await argon2("pw", 8, 10, 1)), true, "t = 10");
    assert.equal(await hasher.verify("pw", await argon2("pw", 64, 1, 8)), true, "p = 8");
    // real hashes of the right password, refused for their parameters
    assert.equal(await hasher.verify("pw", await argon2("pw", 8, 11, 1)), false, "t = 11");
    assert.equal(await hasher.verify("pw", await argon2("pw", 72, 1, 9)), false, "p = 9");
    const real = await argon2("pw", 64, 1, 1);
    const [, , , , salt, digest] = real.split("$");
    assert.equal(await hasher.verify("pw", `$argon2id$v=19$m=262145,t=1,p=1$${salt}$${digest}`), false, "m > 256 MiB");
    assert.equal(await hasher.verify("pw", `$argon2id$v=19$m=99999999,t=1,p=1$${salt}$${digest}`), false, "m beyond 7 digits");
    assert.equal(await hasher.verify("pw", `$argon2id$v=19$m=64,t=100,p=1$${salt}$${digest}`), false, "t beyond 2 digits");
    assert.equal(await hasher.verify("pw", `$argon2id$v=19$m=64,t=0,p=1$${salt}$${digest}`), false, "t = 0");
    assert.equal(await hasher.verify("pw", `$argon2id$v=19$m=64,t=1,p=0$${salt}$${digest}`), false, "p = 0");
    assert.equal(await hasher.verify("pw", `$argon2id$v=19$m=7,t=1,p=1$${salt}$${digest}`), false, "m < 8");
  });

  test("an unreadable stored value is false, never a throw", async () => {
    const real = await argon2("pw", 64, 1, 1);
    const [, , , , salt, digest] = real.split("$");
    assert.equal(await hasher.verify("pw", `$argon2id$v=19$m=64,t=1,p=1$${salt}$${digest!.slice(0, 25)}`), false, "the library cannot decode it (25 base64 characters never decode)");
    for (const stored of ["", "pw", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + digest, `x${real}`, `${real}x`, real.replace("v=19", "v=16")]) {
      assert.equal(await hasher.verify("pw", stored), false, stored);
    }
  });

  test("verifyDummy hashes one dummy once, then spends one verify on it per call, and is always false", async () => {
    const h = createPasswordHasher({ params: cheap });
    const hashed: string[] = [];
    const verified: [string, string][] = [];
    const { hash, verify } = h;
    h.hash = async (pw) => {
      hashed.push(pw);
      return hash(pw);
    };
    h.verify = async (pw, stored) => {
      verified.push([pw, stored]);
      return verify(pw, stored);
    };
    assert.equal(await h.verifyDummy("guess"), false);
    assert.equal(await h.verifyDummy("guess 2"), false);
    assert.equal(hashed.length, 1, "the dummy is made once");
    assert.match(hashed[0]!, /^[0-9a-f]{32}$/, "from 16 random bytes");
    assert.equal(verified.length, 2);
    assert.deepEqual(verified.map(([pw]) => pw), ["guess", "guess 2"]);
    assert.ok(verified[0]![1].startsWith("$argon2id$v=19$m=64,t=1,p=1$"), "a dummy at the current parameters");
    assert.equal(verified[0]![1], verified[1]![1]);
    // even the password the dummy was made from is no way in
    assert.equal(await h.verifyDummy(hashed[0]!), false);
  });
});

describe("password hasher (scrypt, earlier versions)", () => {
  test("a legacy scrypt hash verifies, a wrong password does not, and it is to be rehashed", async () => {
    const stored = scryptHash("old password");
    assert.equal(await hasher.verify("old password", stored), true);
    assert.equal(await hasher.verify("old passwore", stored), false);
    assert.equal(await hasher.verify(decomposed, scryptHash(composed)), true, "NFC");
    assert.equal(hasher.needsRehash(stored), true);
  });

  test("scrypt parameters are bounded: edges verify, beyond them is false (never a throw)", async () => {
    assert.equal(await hasher.verify("pw", scryptHash("pw", { ln: 10, r: 1 })), true, "ln = 10, r = 1");
    assert.equal(await hasher.verify("pw", scryptHash("pw", { r: 16 })), true, "r = 16");
    assert.equal(await hasher.verify("pw", scryptHash("pw", { p: 4, r: 1 })), true, "p = 4");
    assert.equal(await hasher.verify("pw", scryptHash("pw", { keyLength: 16 })), true, "16-byte key");
    assert.equal(await hasher.verify("pw", scryptHash("pw", { keyLength: 64 })), true, "64-byte key");
    assert.equal(await hasher.verify("pw", scryptHash("pw", { ln: 9 })), false, "ln = 9");
    assert.equal(await hasher.verify("pw", scryptHash("pw", { r: 17 })), false, "r = 17");
    assert.equal(await hasher.verify("pw", scryptHash("pw", { p: 5, r: 1 })), false, "p = 5");
    assert.equal(await hasher.verify("pw", scryptHash("pw", { keyLength: 15 })), false, "15-byte key");
    assert.equal(await hasher.verify("pw", scryptHash("pw", { keyLength: 65 })), false, "65-byte key");
    const good = scryptHash("pw");
    const tail = good.slice(good.indexOf("$", 8));
    for (const params of ["ln=0,r=8,p=1", "ln=21,r=1,p=1", "ln=10,r=0,p=1", "ln=10,r=8,p=0", "ln=100,r=8,p=1", "ln=10,r=100,p=1", "ln=10,r=8,p=10"]) {
      assert.equal(await hasher.verify("pw", `$scrypt$${params}${tail}`), false, params);
    }
    // within the bounds, but parameters OpenSSL itself refuses (N >= 2^(16 r) here): false, not a throw
    assert.equal(await hasher.verify("pw", `$scrypt$ln=16,r=1,p=1${tail}`), false, "ln = 16, r = 1");
    for (const stored of [`x${good}`, `${good}x`, good.replace("$scrypt$", "$scrypt2$"), good.replace(/\$[^$]*$/, "$"), "$scrypt$ln=10,r=8,p=1$$"]) {
      assert.equal(await hasher.verify("pw", stored), false, stored);
    }
  });
});

describe("password spans", () => {
  const spans = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  provider.register();
  after(() => provider.shutdown());
  const seen = () => spans.getFinishedSpans().map((s) => [s.name, s.attributes["password.algorithm"]]);
  const inRequest = async (work: () => Promise<void>) => {
    spans.reset();
    await trace.getTracer("test").startActiveSpan("request", async (parent) => {
      await work();
      parent.end();
    });
  };

  test("hash and verify are spans inside a request, named with their algorithm", async () => {
    const stored = await hasher.hash("pw"); // no parent: no span
    assert.equal(spans.getFinishedSpans().length, 0);
    const legacy = scryptHash("pw");
    await trace.getTracer("test").startActiveSpan("request", async (parent) => {
      await hasher.hash("pw");
      await hasher.verify("pw", stored);
      await hasher.verify("pw", legacy);
      parent.end();
    });
    assert.deepEqual(seen(), [
      ["password.hash", "argon2id"],
      ["password.verify", "argon2id"],
      ["password.verify", "scrypt"],
      ["request", undefined],
    ]);
  });

  // the spans show which path a stored value took, so "refused before any work" is observable
  test("out-of-range argon2id parameters are refused before any work (no verify span)", async () => {
    const [, , , , salt, digest] = (await argon2("pw", 64, 1, 1)).split("$");
    const params = ["m=262145,t=1,p=1", "m=7,t=1,p=1", "m=15,t=1,p=2", "m=64,t=0,p=1", "m=64,t=11,p=1", "m=64,t=1,p=0", "m=72,t=1,p=9", "m=80,t=1,p=10"];
    await inRequest(async () => {
      for (const p of params) assert.equal(await hasher.verify("pw", `$argon2id$v=19$${p}$${salt}$${digest}`), false, p);
    });
    assert.deepEqual(seen(), [["request", undefined]]);
  });

  test("only a whole argon2id PHC string takes the argon2id path; anything around it goes to the scrypt reader", async () => {
    const real = await argon2("pw", 64, 1, 1);
    await inRequest(async () => {
      for (const stored of [`x${real}`, `${real}=`, `${real}$x`]) assert.equal(await hasher.verify("pw", stored), false, stored);
    });
    assert.deepEqual(seen(), [["password.verify", "scrypt"], ["password.verify", "scrypt"], ["password.verify", "scrypt"], ["request", undefined]]);
  });
});
