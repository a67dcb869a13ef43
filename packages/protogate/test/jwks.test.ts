import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { AuthError, type AuthErrorReason } from "../src/index.js";
import { createJwtCodec, createKeyRing, createRemoteKeySet, hmacKey, signingKeyFromPem, type JwksLogger, type KeySet, type SigningKey } from "../src/jwt/index.js";
import { ClaimsSchema } from "./fixture.js";

const pem = (alg: "RS256" | "EdDSA") =>
  alg === "RS256"
    ? generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } }).privateKey
    : generateKeyPairSync("ed25519", { privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } }).privateKey;
const signingKey = (alg: "RS256" | "EdDSA") => signingKeyFromPem(pem(alg), alg, `test ${alg} key`);

/** An issuer: a ring holding one signing key, a codec issuing with it, and its public JWKS. */
function issuer(signing: SigningKey) {
  const ring = createKeyRing({ signing });
  const codec = createJwtCodec({ keys: ring, claims: ClaimsSchema, unknownClaims: "reject", lifetime: 900 });
  return { kid: signing.kid, jwks: ring.publicJwks(), token: async (userId: bigint) => (await codec.issue({ userId })).token };
}
const rsa = issuer(await signingKey("RS256"));
const ed = issuer(await signingKey("EdDSA"));
const rotatedIn = issuer(await signingKey("EdDSA"));

/** A verifier holding no key of its own: every key comes from the remote set. */
const verifierOf = (remote: KeySet) => createJwtCodec({ keys: createKeyRing({ remote }), claims: ClaimsSchema, unknownClaims: "reject", lifetime: 900 });

async function reason(p: Promise<unknown>): Promise<AuthErrorReason | "accepted"> {
  try {
    await p;
    return "accepted";
  } catch (err) {
    assert.ok(err instanceof AuthError, `expected an AuthError, got ${String(err)}`);
    return err.reason;
  }
}

/** Polls `condition` every 20 ms for at most `ms`; fails the test when it never holds. */
async function eventually(what: string, ms: number, condition: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(20);
  }
}

type Respond = (res: http.ServerResponse) => void;
const json =
  (doc: unknown): Respond =>
  (res) => {
    res.setHeader("content-type", "application/json");
    res.end(typeof doc === "string" ? doc : JSON.stringify(doc));
  };

/** A JWKS host on a loopback port; what it answers can be changed at any time. */
async function jwksHost(initial: Respond) {
  let respond = initial;
  let requests = 0;
  const arrivals: number[] = [];
  const server = http.createServer((_req, res) => {
    requests++;
    arrivals.push(performance.now());
    respond(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    requests: () => requests,
    /** When each request arrived (performance.now()). */
    arrivals: () => [...arrivals],
    respond: (r: Respond) => (respond = r),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const hosts: Awaited<ReturnType<typeof jwksHost>>[] = [];
const sets: { close(): void }[] = [];
const host = async (initial: Respond) => {
  const h = await jwksHost(initial);
  hosts.push(h);
  return h;
};
const remoteSet = (options: Parameters<typeof createRemoteKeySet>[0]) => {
  const set = createRemoteKeySet(options);
  sets.push(set);
  return set;
};
after(async () => {
  for (const s of sets) s.close();
  await Promise.all(hosts.map((h) => h.close()));
});

/** A clock the test moves; the remote set's timer still runs on real time (every max(maxAgeMs, 1 s)). */
const manualClock = () => {
  let ms = Date.now();
  return { now: () => ms, advance: (by: number) => (ms += by) };
};

describe("a remote JWKS", () => {
  test("verifies the issuers' tokens with the published public keys, fetched once", async () => {
    const h = await host(json({ keys: [...rsa.jwks, ...ed.jwks] }));
    const remote = remoteSet({ url: h.url, cooldownMs: 1000, maxAgeMs: 60_000 });
    const verifier = verifierOf(remote);
    assert.equal(remote.version(), 0);
    assert.equal((await verifier.verify(await rsa.token(1n))).claims.userId, 1n);
    assert.equal((await verifier.verify(await ed.token(2n))).claims.userId, 2n);
    assert.equal(await remote.ready(), true);
    assert.equal(h.requests(), 1);
    assert.equal(remote.version(), 1);
    assert.equal(verifier.keysVersion(), 1, "the codec reports the ring's version");
    // a forged signature under a published kid
    const t = await rsa.token(1n);
    assert.equal(await reason(verifier.verify(`${t.slice(0, t.lastIndexOf("."))}.${Buffer.alloc(256, 1).toString("base64url")}`)), "bad_signature");
  });

  test("a rotated-in kid is fetched when first seen; forged kids cannot make it hammer the host", async () => {
    const h = await host(json({ keys: [...rsa.jwks] }));
    const clock = manualClock();
    const remote = remoteSet({ url: h.url, clock, cooldownMs: 5000, maxAgeMs: 60_000, minIntervalMs: 20 });
    const verifier = verifierOf(remote);
    assert.equal(await reason(verifier.verify(await rsa.token(1n))), "accepted");
    assert.equal(h.requests(), 1);
    const before = remote.version();

    h.respond(json({ keys: [...rsa.jwks, ...rotatedIn.jwks] }));
    clock.advance(25);
    assert.equal(await reason(verifier.verify(await rotatedIn.token(3n))), "accepted");
    assert.equal(h.requests(), 2);
    assert.equal(remote.version(), before + 1);

    // an unknown kid fetches once per cool-down, however often it is sent
    const forged = await issuer({ ...(await signingKey("EdDSA")), kid: "forged-kid" }).token(4n);
    clock.advance(25);
    const results = await Promise.all(Array.from({ length: 5 }, () => reason(verifier.verify(forged))));
    assert.deepEqual(results, Array(5).fill("unknown_key"));
    assert.equal(await reason(verifier.verify(forged)), "unknown_key");
    assert.equal(h.requests(), 3, "one fetch for the forged kid");
    clock.advance(5000);
    assert.equal(await reason(verifier.verify(forged)), "unknown_key");
    assert.equal(h.requests(), 4, "another after the cool-down");
    assert.equal(remote.version(), before + 1, "the same keys: the version stays");
  });

  test("different unknown kids still wait for each other: fetches are at least minIntervalMs apart", async () => {
    const h = await host(json({ keys: [...ed.jwks] }));
    const remote = remoteSet({ url: h.url, cooldownMs: 60_000, maxAgeMs: 60_000, minIntervalMs: 150 });
    const verifier = verifierOf(remote);
    assert.equal(await remote.ready(), true);
    const forger = await signingKey("EdDSA");
    const forged = await Promise.all(["forged-1", "forged-2", "forged-3"].map((kid) => issuer({ ...forger, kid }).token(1n)));
    for (const t of forged) assert.equal(await reason(verifier.verify(t)), "unknown_key");
    const arrivals = h.arrivals();
    assert.equal(arrivals.length, 4);
    const gaps = arrivals.slice(1).map((t, i) => t - arrivals[i]!);
    // measured where the fetches arrive, so one delayed on a loaded machine narrows the next gap:
    // each gap keeps most of the interval, and together they keep nearly all of it (unbounded: ~0)
    const shown = `gaps between fetches: ${gaps.map((g) => g.toFixed(0)).join(", ")} ms`;
    assert.ok(gaps.every((g) => g >= 100), shown);
    assert.ok(arrivals[3]! - arrivals[0]! >= 3 * 150 - 40, shown);
  });

  test("a key dropped from the JWKS stops verifying once the keys are older than maxAge", async () => {
    const h = await host(json({ keys: [...rsa.jwks, ...ed.jwks] }));
    const clock = manualClock();
    const remote = remoteSet({ url: h.url, clock, cooldownMs: 60_000, maxAgeMs: 10_000, minIntervalMs: 20 });
    const verifier = verifierOf(remote);
    const rsaToken = await rsa.token(1n);
    assert.equal(await reason(verifier.verify(rsaToken)), "accepted");

    h.respond(json({ keys: [...ed.jwks] }));
    clock.advance(9_000);
    assert.equal(await reason(verifier.verify(rsaToken)), "accepted", "within maxAge the cached keys serve");
    assert.equal(h.requests(), 1);
    clock.advance(1_001);
    assert.equal(await reason(verifier.verify(rsaToken)), "unknown_key");
    assert.equal(await reason(verifier.verify(await ed.token(2n))), "accepted");
    assert.equal(remote.version(), 2);
  });

  test("on real time: the timer refetches every maxAge (a dropped key stops verifying), and close() stops it", async () => {
    const h = await host(json({ keys: [...rsa.jwks, ...ed.jwks] }));
    const remote = remoteSet({ url: h.url, cooldownMs: 200, maxAgeMs: 1000, minIntervalMs: 20 });
    const verifier = verifierOf(remote);
    const rsaToken = await rsa.token(1n);
    assert.equal(await reason(verifier.verify(rsaToken)), "accepted");
    assert.equal(h.requests(), 1);
    h.respond(json({ keys: [...ed.jwks] }));
    // nothing verifies meanwhile: only the timer can fetch
    await eventually("the timer refetched", 2500, () => remote.version() === 2);
    assert.equal(h.requests(), 2);
    assert.equal(await reason(verifier.verify(rsaToken)), "unknown_key");
    remote.close();
    const fetched = h.requests();
    await sleep(1300);
    assert.equal(h.requests(), fetched, "no fetch after close()");
  });

  test("a host that cannot be reached before the first fetch: unavailable, until it answers", async () => {
    // a port nobody listens on
    const gone = await jwksHost(json({ keys: [] }));
    await gone.close();
    const nowhere = remoteSet({ url: gone.url, cooldownMs: 1000, timeoutMs: 500 });
    assert.equal(await reason(verifierOf(nowhere).verify(await rsa.token(1n))), "unavailable");
    assert.equal(await nowhere.ready(), false);

    // a host answering 503, then the keys
    const warnings: string[] = [];
    const infos: string[] = [];
    const logger: JwksLogger = { warn: (fields, msg) => warnings.push(JSON.stringify(fields) + msg), info: (fields, msg) => infos.push(JSON.stringify(fields) + msg) };
    const h = await host((res) => res.writeHead(503).end());
    const clock = manualClock();
    const remote = remoteSet({ url: `${h.url}?token=SECRET`, clock, logger, cooldownMs: 1000, minIntervalMs: 20 });
    const verifier = verifierOf(remote);
    const t = await rsa.token(1n);
    assert.equal(await reason(verifier.verify(t)), "unavailable");
    assert.equal(await reason(verifier.verify(t)), "unavailable");
    assert.equal(h.requests(), 1, "no retry within the cool-down");
    h.respond(json({ keys: [...rsa.jwks] }));
    clock.advance(1000);
    assert.equal(await reason(verifier.verify(t)), "accepted");
    assert.equal(warnings.length, 1);
    assert.ok(!warnings[0]!.includes("SECRET"), "the URL is logged without its query");
    assert.equal(infos.length, 1);

    // once keys are cached, the host going down does not stop verification
    h.respond((res) => res.writeHead(500).end());
    clock.advance(400_000);
    assert.equal(await reason(verifier.verify(t)), "accepted");
    assert.equal(warnings.length, 2);
  });

  test("a host that does not answer in time is unavailable", async () => {
    const h = await host(() => {}); // never responds
    const remote = remoteSet({ url: h.url, timeoutMs: 150 });
    const started = Date.now();
    assert.equal(await reason(verifierOf(remote).verify(await ed.token(1n))), "unavailable");
    assert.ok(Date.now() - started < 1500, "the timeout bounded the wait");
  });

  test("an oversized or invalid document is ignored: the cached keys keep serving, or nothing is trusted", async () => {
    // each bad document, were it taken, would drop the RSA key
    const valid = { keys: [...rsa.jwks, ...ed.jwks] };
    const elsewhere = await host(json({ keys: ed.jwks }));
    const bad: Record<string, Respond> = {
      oversized: json({ keys: [...ed.jwks], padding: "x".repeat(70 * 1024) }),
      "not JSON": json("{keys:"),
      "keys not a list": json({ keys: "none" }),
      // JSON.parse would keep the last `keys`, which holds none of them
      "a duplicate member": json(`{"keys":${JSON.stringify(valid.keys)},"keys":[]}`),
      "a JSON list": json(JSON.stringify(valid.keys)),
      "an error status": (res) => res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ keys: ed.jwks })),
      // to a host that would answer, with a document lacking the RSA key
      "a redirect": (res) => res.writeHead(302, { location: elsewhere.url }).end(),
    };
    assert.equal(Object.keys(bad).length, 7);
    for (const [what, respond] of Object.entries(bad)) {
      // as the first document: nothing to verify with
      const first = await host(respond);
      const fresh = remoteSet({ url: first.url, cooldownMs: 60_000 });
      assert.equal(await reason(verifierOf(fresh).verify(await ed.token(1n))), "unavailable", what);

      // after a good one: ignored, the cached keys serve
      const h = await host(json(valid));
      const clock = manualClock();
      const remote = remoteSet({ url: h.url, clock, cooldownMs: 60_000, maxAgeMs: 10_000, minIntervalMs: 20 });
      const verifier = verifierOf(remote);
      assert.equal(await reason(verifier.verify(await rsa.token(1n))), "accepted", what);
      h.respond(respond);
      clock.advance(10_001);
      assert.equal(await reason(verifier.verify(await rsa.token(1n))), "accepted", what);
      assert.equal(h.requests(), 2, `${what}: the document was fetched`);
      assert.equal(remote.version(), 1, `${what}: the keys did not change`);
    }
  });

  test("keys that are not plain public signature keys are skipped", async () => {
    const b = await signingKey("EdDSA");
    const as = (kid: string) => issuer({ ...b, kid });
    const jwk = ed.jwks[0]!;
    const [pub] = issuer(b).jwks;
    const h = await host(
      json({
        keys: [
          { ...pub, kid: "plain" },
          { ...pub, kid: "with-private-part", d: "AAAA" },
          { ...pub, kid: "for-encryption", use: "enc" },
          { ...pub, kid: "another-alg", alg: "RS256" },
          { ...jwk, kid: "someone-elses-key" },
          "not an object",
          { ...pub, kid: "" },
        ],
      }),
    );
    const verifier = verifierOf(remoteSet({ url: h.url, cooldownMs: 60_000, minIntervalMs: 20 }));
    assert.equal(await reason(verifier.verify(await as("plain").token(1n))), "accepted");
    for (const kid of ["with-private-part", "for-encryption", "another-alg"]) assert.equal(await reason(verifier.verify(await as(kid).token(1n))), "unknown_key", kid);
    assert.equal(await reason(verifier.verify(await as("someone-elses-key").token(1n))), "bad_signature");
  });

  test("the ring's own keys answer first: a local token costs no fetch", async () => {
    const h = await host(json({ keys: [...ed.jwks] }));
    const hmac = await hmacKey("local-secret-0123456789abcdef0123");
    const remote = remoteSet({ url: h.url, cooldownMs: 60_000 });
    const ring = createKeyRing({ signing: hmac, remote });
    const codec = createJwtCodec({ keys: ring, claims: ClaimsSchema, unknownClaims: "reject", lifetime: 900 });
    assert.equal(await reason(codec.verify((await codec.issue({ userId: 1n })).token)), "accepted");
    assert.equal(h.requests(), 0);
    assert.equal(await reason(codec.verify(await ed.token(2n))), "accepted");
    assert.equal(h.requests(), 1);
    assert.deepEqual(ring.publicJwks(), [], "an HS256 secret is never published; remote keys are not republished");
    assert.equal(ring.version(), 1);
    ring.close();
  });
});

/** A logger that keeps what it is told. */
const recording = () => {
  const lines: { level: "warn" | "info"; fields: Record<string, unknown>; message: string }[] = [];
  const logger: JwksLogger = {
    warn: (fields, message) => lines.push({ level: "warn", fields: fields as Record<string, unknown>, message }),
    info: (fields, message) => lines.push({ level: "info", fields: fields as Record<string, unknown>, message }),
  };
  return { lines, logger };
};
const kids = async (set: KeySet, kid: string | undefined, alg = "EdDSA") => (await set.candidates(kid, alg)).map((k) => k.kid);

describe("a remote JWKS: the document, the log, the version", () => {
  test("one warning per outage (URL without its query, the error, the keys still held), one info line when it ends", async () => {
    let accept: string | undefined;
    const h = await host((res) => res.writeHead(503).end());
    const { lines, logger } = recording();
    const clock = manualClock();
    const url = `${h.url}?token=secret`;
    const remote = remoteSet({ url, clock, logger, cooldownMs: 1000, maxAgeMs: 60_000, minIntervalMs: 0 });
    assert.equal(await remote.ready(), false);
    clock.advance(1000);
    assert.equal(await reason(Promise.resolve(remote.candidates("x", "EdDSA"))), "unavailable");
    assert.equal(h.requests(), 2);
    assert.deepEqual(lines, [
      {
        level: "warn",
        fields: { url: h.url, error: "HTTP 503", cachedKeys: 0 },
        message: "JWKS fetch failed; serving with the cached keys",
      },
    ]);
    h.respond((res) => {
      accept = String(res.req.headers.accept);
      json({ keys: [...ed.jwks, ...rsa.jwks] })(res);
    });
    clock.advance(1000);
    assert.deepEqual(await kids(remote, ed.kid), [ed.kid]);
    assert.equal(accept, "application/json");
    assert.deepEqual(lines.slice(1), [{ level: "info", fields: { keys: 2 }, message: "JWKS reachable again" }]);
    // a good fetch after a good fetch says nothing; the next failure warns again, with the keys held
    clock.advance(60_001);
    await remote.candidates(ed.kid, "EdDSA");
    assert.equal(lines.length, 2);
    h.respond((res) => res.writeHead(500).end());
    clock.advance(60_001);
    assert.deepEqual(await kids(remote, ed.kid), [ed.kid], "the cached keys serve");
    assert.deepEqual(lines.slice(2), [{ level: "warn", fields: { url: h.url, error: "HTTP 500", cachedKeys: 2 }, message: "JWKS fetch failed; serving with the cached keys" }]);
  });

  test("what the document may hold: non-objects skipped, the first of a repeated kid kept, 32 keys at most, 64 KiB at most", async () => {
    const many = await Promise.all(Array.from({ length: 33 }, async () => issuer(await signingKey("EdDSA"))));
    const dup = { ...rsa.jwks[0]!, kid: ed.kid };
    const h = await host(json({ keys: [null, [ed.jwks[0]], "x", 5, ...ed.jwks, dup, ...many.slice(0, 30).flatMap((i) => i.jwks)] }));
    const remote = remoteSet({ url: h.url, cooldownMs: 60_000, minIntervalMs: 0 });
    assert.equal(await remote.ready(), true);
    const held = await remote.candidates(ed.kid, "EdDSA");
    assert.deepEqual(held.map((k) => k.alg), ["EdDSA"], "the first key of a kid, not the RSA key repeating it");
    // of the first 32 entries (4 not objects, ed, its repeat, 26 more): every usable key of the algorithm, when no kid is named
    assert.deepEqual((await remote.candidates(undefined, "EdDSA")).length, 1 + 26);
    assert.deepEqual(await kids(remote, undefined, "RS256"), []);

    const capped = await host(json({ keys: many.flatMap((i) => i.jwks) }));
    const set = remoteSet({ url: capped.url, cooldownMs: 60_000, minIntervalMs: 0 });
    assert.deepEqual(await kids(set, many[31]!.kid), [many[31]!.kid], "the 32nd key");
    assert.deepEqual(await kids(set, many[32]!.kid), [], "the 33rd is not taken");

    // a document of exactly 64 KiB is read; one byte more is not
    const exactly = (size: number) => {
      const doc = { keys: ed.jwks, pad: "" };
      doc.pad = "x".repeat(size - JSON.stringify(doc).length);
      const text = JSON.stringify(doc);
      assert.equal(Buffer.byteLength(text), size);
      return text;
    };
    for (const [size, held] of [[64 * 1024, true], [64 * 1024 + 1, false]] as const) {
      const { lines, logger } = recording();
      const sized = await host(json(exactly(size)));
      assert.equal(await remoteSet({ url: sized.url, logger, cooldownMs: 60_000 }).ready(), held, `${size} bytes`);
      assert.deepEqual(lines.map((l) => l.fields.error), held ? [] : ["larger than 65536 bytes"]);
    }
    for (const [doc, error] of [["[]", "not a JWKS document"], ['{"keys":{}}', "not a JWKS document"], ["{}", "not a JWKS document"]] as const) {
      const { lines, logger } = recording();
      const bad = await host(json(doc));
      assert.equal(await remoteSet({ url: bad.url, logger, cooldownMs: 60_000 }).ready(), false, doc);
      assert.equal(lines[0]?.fields.error, error, doc);
    }
  });

  test("version changes when a key is added, dropped or replaced under its kid, and only then", async () => {
    const h = await host(json({ keys: [...ed.jwks] }));
    const clock = manualClock();
    const remote = remoteSet({ url: h.url, clock, cooldownMs: 1000, maxAgeMs: 10_000, minIntervalMs: 0 });
    assert.equal(remote.version(), 0);
    await remote.ready();
    assert.equal(remote.version(), 1);
    const refetch = async () => {
      clock.advance(10_001);
      await remote.candidates(ed.kid, "EdDSA");
    };
    await refetch();
    assert.equal(remote.version(), 1, "the same keys");
    h.respond(json({ keys: [...ed.jwks, ...rsa.jwks] }));
    await refetch();
    assert.equal(remote.version(), 2, "a key added");
    h.respond(json({ keys: [...ed.jwks, { ...rotatedIn.jwks[0]!, kid: rsa.kid }] }));
    await refetch();
    assert.equal(remote.version(), 3, "another key under the same kid");
    h.respond(json({ keys: [...ed.jwks, { ...rsa.jwks[0]!, kid: rsa.kid }] }));
    await refetch();
    assert.equal(remote.version(), 4, "another algorithm under the same kid");
    h.respond(json({ keys: [...ed.jwks] }));
    await refetch();
    assert.equal(remote.version(), 5, "a key dropped");
    h.respond(json({ keys: [{ ...rotatedIn.jwks[0]!, kid: ed.kid }] }));
    await refetch();
    assert.equal(remote.version(), 6, "the only key replaced under its kid");
  });
});

describe("a remote JWKS: when it fetches", () => {
  test("a known kid, or an algorithm with no key and no kid named, never causes a fetch", async () => {
    const h = await host(json({ keys: [...ed.jwks] }));
    const clock = manualClock();
    const remote = remoteSet({ url: h.url, clock, cooldownMs: 10, maxAgeMs: 60_000, minIntervalMs: 0 });
    assert.equal(await remote.ready(), true);
    for (let i = 0; i < 5; i++) {
      clock.advance(100); // past every cool-down and interval: only the reason to fetch is missing
      assert.deepEqual(await kids(remote, ed.kid), [ed.kid]);
      assert.deepEqual(await kids(remote, undefined, "RS256"), []);
    }
    assert.equal(h.requests(), 1);
  });

  test("callers asking while a fetch is under way share it", async () => {
    const h = await host(json({ keys: [...ed.jwks] }));
    const clock = manualClock();
    const remote = remoteSet({ url: h.url, clock, cooldownMs: 60_000, maxAgeMs: 60_000, minIntervalMs: 50 });
    assert.equal(await remote.ready(), true);
    clock.advance(50);
    const found = await Promise.all(["forged-a", "forged-b", "forged-c"].map((kid) => kids(remote, kid)));
    assert.deepEqual(found, [[], [], []]);
    // a caller that did not share the fetch under way would have scheduled another 50 ms on
    await sleep(150);
    assert.equal(h.requests(), 2, "one fetch for three unknown kids asked at once");
  });

  test("keys older than maxAge are refetched; keys exactly maxAge old are not", async () => {
    const h = await host(json({ keys: [...ed.jwks] }));
    const clock = manualClock();
    const remote = remoteSet({ url: h.url, clock, cooldownMs: 60_000, maxAgeMs: 10_000, minIntervalMs: 0 });
    assert.equal(await remote.ready(), true);
    clock.advance(10_000);
    await remote.candidates(ed.kid, "EdDSA");
    assert.equal(h.requests(), 1, "exactly maxAge old");
    clock.advance(1);
    await remote.candidates(ed.kid, "EdDSA");
    assert.equal(h.requests(), 2, "older");
  });

  test("the per-kid cool-down remembers the last 1024 unknown kids, forgetting the oldest first", async () => {
    const h = await host(json({ keys: [...ed.jwks] }));
    const clock = manualClock();
    const remote = remoteSet({ url: h.url, clock, cooldownMs: 60_000, maxAgeMs: 600_000, minIntervalMs: 0 });
    assert.equal(await remote.ready(), true);
    const forged = Array.from({ length: 1025 }, (_, i) => `forged-${i}`);
    await Promise.all(forged.slice(0, 1024).map((kid) => kids(remote, kid)));
    assert.equal(h.requests(), 2, "1024 kids asked at once share one fetch");
    await kids(remote, forged[0]);
    assert.equal(h.requests(), 2, "the oldest of 1024 is still remembered");
    await kids(remote, forged[1024]);
    assert.equal(h.requests(), 3, "a 1025th kid fetches");
    await kids(remote, forged[0]);
    assert.equal(h.requests(), 4, "and the oldest is forgotten: it may fetch again");
    // remembering forged-0 again forgot forged-1, the oldest then; forged-2 is still remembered
    await kids(remote, forged[2]);
    assert.equal(h.requests(), 4, "the next oldest but one was not forgotten");
    await kids(remote, forged[1]);
    assert.equal(h.requests(), 5, "the next oldest was");
  });

  test("the timer runs no more often than once a second, however short maxAge is", async () => {
    const h = await host(json({ keys: [...ed.jwks] }));
    const remote = remoteSet({ url: h.url, cooldownMs: 60_000, maxAgeMs: 10, minIntervalMs: 0 });
    assert.equal(await remote.ready(), true);
    // nothing asks for keys meanwhile, so only the timer could fetch (every 10 ms unbounded)
    await sleep(500);
    assert.equal(h.requests(), 1);
  });

  test("minIntervalMs defaults to 1 s, or the cool-down when that is shorter", async () => {
    // cool-down 5 s: fetches are 1 s apart, so a kid asked 1.5 s (by the set's clock) after the
    // last fetch is fetched at once, and one asked at the same instant waits out the second
    const h = await host(json({ keys: [...ed.jwks] }));
    const clock = manualClock();
    const remote = remoteSet({ url: h.url, clock, cooldownMs: 5000, maxAgeMs: 600_000 });
    assert.equal(await remote.ready(), true);
    clock.advance(1500);
    let started = performance.now();
    await kids(remote, "forged-1");
    assert.equal(h.requests(), 2);
    assert.ok(performance.now() - started < 2500, `not held back (a 5 s interval would hold it 3.5 s): ${(performance.now() - started).toFixed(0)} ms`);
    started = performance.now();
    await kids(remote, "forged-2");
    assert.equal(h.requests(), 3);
    assert.ok(performance.now() - started >= 990, `held back for the interval: ${(performance.now() - started).toFixed(0)} ms`);

    // cool-down 200 ms: the interval is the cool-down's
    const short = remoteSet({ url: h.url, clock, cooldownMs: 200, maxAgeMs: 600_000 });
    assert.equal(await short.ready(), true);
    started = performance.now();
    await kids(short, "forged-3");
    const waited = performance.now() - started;
    assert.ok(waited >= 190, `held back for the cool-down: ${waited.toFixed(0)} ms`);
  });
});

describe("a remote JWKS: hosts that answer oddly", () => {
  test("an empty answer is not a JWKS document; a 304 is an HTTP error; a URL that cannot be parsed is logged as such", async () => {
    for (const [status, error] of [[204, "not a JWKS document"], [304, "HTTP 304"], [200, "not a JWKS document"]] as const) {
      const { lines, logger } = recording();
      const h = await host((res) => res.writeHead(status).end());
      assert.equal(await remoteSet({ url: h.url, logger, cooldownMs: 60_000 }).ready(), false, String(status));
      assert.deepEqual(lines.map((l) => l.fields.error), [error], String(status));
    }
    const { lines, logger } = recording();
    assert.equal(await remoteSet({ url: "not a url?secret=1", logger, cooldownMs: 60_000 }).ready(), false);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.fields.url, "(invalid URL)");
  });
});
