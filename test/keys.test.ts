import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { calculateJwkThumbprint, decodeProtectedHeader, importPKCS8, SignJWT, type JWK } from "jose";
import { generateKeyFiles } from "../src/auth/generate-key.js";
import type { Algorithm } from "protogate/jwt";
import { ConfigError, loadConfig, type Config } from "../src/config.js";
import { SearchService } from "../src/gen/search/v1/search_pb.js";
import { UserService } from "../src/gen/user/v1/user_pb.js";
import { startBookstore } from "../src/main.js";
import { openStorage } from "../src/service-context.js";
import { addUser } from "../src/user/manage-users.js";
import { callCode, memoryLogger, runBookstore, settlesTo, startTestApp, tempDir, testConfig, testPasswordCost } from "./harness.js";

const dir = tempDir();
after(() => dir.remove());

const code = callCode;
const withAuth = (base: Config, auth: Partial<Config["auth"]>): Config => ({ ...base, auth: { ...base.auth, ...auth } });
const auth = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });
const search = (url: string, grpc = false) =>
  createClient(SearchService, grpc ? createGrpcTransport({ baseUrl: url }) : createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
const login = async (url: string) =>
  createClient(UserService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" })).login({ username: "alice", password: "alice-password" });
const jwks = async (url: string) => (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: JWK[] };

/** A config on its own SQLite file with alice registered; no shared secret. */
async function keyedConfig(name: string, auth: Partial<Config["auth"]>): Promise<Config> {
  const base = testConfig(dir.path, { dataSource: `sqlite:${join(dir.path, `${name}.db`)}` });
  const config = withAuth(base, { accessSecret: "", ...auth });
  const storage = await openStorage(config, { passwordCost: testPasswordCost });
  try {
    await addUser(storage, { username: "alice", password: "alice-password" });
  } finally {
    await storage.close();
  }
  return config;
}

for (const alg of ["RS256", "ES256", "EdDSA"] as const) {
  test(`${alg}: login signs with the key, JWKS publishes its public half, both protocols verify`, async () => {
    const key = await generateKeyFiles(alg, join(dir.path, `keys-${alg}`));
    const app = await startTestApp(await keyedConfig(`alg-${alg}`, { algorithm: alg, signingKeyFile: key.privateKeyFile }));
    try {
      const { accessToken, refreshToken } = await login(app.userUrl);
      assert.deepEqual(decodeProtectedHeader(accessToken), { alg, typ: "JWT", kid: key.kid });
      assert.equal(decodeProtectedHeader(refreshToken).alg, alg);
      assert.equal(await code(search(app.searchUrl).do({ name: "go-zero" }, auth(accessToken))), "ok");
      assert.equal(await code(search(app.searchUrl, true).do({ name: "go-zero" }, auth(accessToken))), "ok");
      const res = await fetch(`${app.userUrl}/.well-known/jwks.json`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type")!, /^application\/json/);
      const { keys } = (await res.json()) as { keys: JWK[] };
      assert.equal(keys.length, 1);
      assert.equal(keys[0]!.kid, key.kid);
      assert.equal(keys[0]!.alg, alg);
      assert.equal(keys[0]!.use, "sig");
      assert.equal(await calculateJwkThumbprint(keys[0]!), key.kid, "the kid is the key's RFC 7638 thumbprint");
      for (const privateMember of ["d", "p", "q", "dp", "dq", "qi", "k"]) assert.equal(privateMember in keys[0]!, false);
      assert.equal((await fetch(`${app.searchUrl}/.well-known/jwks.json`, { method: "GET" })).status === 200, false, "only the user port publishes");
    } finally {
      await app.close();
    }
  });
}

test("HS256 publishes an empty key set: a secret is never published", async () => {
  const app = await startTestApp(testConfig(dir.path, { dataSource: `sqlite:${join(dir.path, "hs.db")}` }), { only: "user" });
  try {
    assert.deepEqual(await jwks(app.userUrl), { keys: [] });
  } finally {
    await app.close();
  }
});

test("algorithm pinned per key: tokens under another algorithm, or with jwk/jku/x5c headers, are refused", async () => {
  const key = await generateKeyFiles("ES256", join(dir.path, "keys-pin"));
  const app = await startTestApp(await keyedConfig("pin", { algorithm: "ES256", signingKeyFile: key.privateKeyFile }));
  try {
    const now = Math.floor(Date.now() / 1000);
    const claims = { userId: 1, iat: now, exp: now + 60, jti: "x" };
    // HS256 keyed with the public key's PEM: the classic confusion
    const publicPem = readFileSync(key.publicKeyFile);
    const confused = await new SignJWT(claims).setProtectedHeader({ alg: "HS256", kid: key.kid }).sign(publicPem);
    // a key of our own, announced in the header
    const other = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const otherKey = await importPKCS8(other.privateKey.export({ format: "pem", type: "pkcs8" }).toString(), "ES256");
    const embedded = await new SignJWT(claims)
      .setProtectedHeader({ alg: "ES256", kid: key.kid, jwk: other.publicKey.export({ format: "jwk" }) as JWK, jku: "http://127.0.0.1:1/jwks", x5u: "http://127.0.0.1:1/x5u" })
      .sign(otherKey);
    const unnamed = await new SignJWT(claims).setProtectedHeader({ alg: "ES256" }).sign(otherKey);
    for (const forged of [confused, embedded, unnamed]) {
      assert.equal(await code(search(app.searchUrl).do({ name: "go-zero" }, auth(forged))), "Unauthenticated");
    }
    assert.equal(await code(search(app.searchUrl).do({ name: "go-zero" }, auth((await login(app.userUrl)).accessToken))), "ok");
  } finally {
    await app.close();
  }
});

describe("a search service that knows only the user service's JWKS URL", () => {
  let keyA: Awaited<ReturnType<typeof generateKeyFiles>>;
  let keyB: Awaited<ReturnType<typeof generateKeyFiles>>;
  let userConfig: Config;
  before(async () => {
    keyA = await generateKeyFiles("ES256", join(dir.path, "keys-jwks"));
    keyB = await generateKeyFiles("EdDSA", join(dir.path, "keys-jwks"));
    userConfig = await keyedConfig("jwks", { algorithm: "ES256", signingKeyFile: keyA.privateKeyFile });
  });

  test("verifies the user service's tokens, follows a rotation, keeps serving while the JWKS host is down, then retires the old key", async () => {
    let user = await startTestApp(userConfig, { only: "user" });
    const userPort = user.ports.user!;
    const jwksUrl = `${user.userUrl}/.well-known/jwks.json`;
    const { logger, lines } = memoryLogger();
    // no secret and no key: only the URL (cool-down 0 so the rotation below is seen at once;
    // JwksMaxAge 1 s so the retirement at the end reaches it within the test)
    const searchOnly = withAuth(testConfig(dir.path, { dataSource: `sqlite:${join(dir.path, "jwks-search.db")}` }), {
      accessSecret: "",
      jwksUrl,
      jwksCooldown: 0,
      jwksMaxAge: 1,
    });
    const verifier = await startTestApp(searchOnly, { only: "search", logger });
    try {
      const tokenA = (await login(user.userUrl)).accessToken;
      assert.equal(await code(search(verifier.searchUrl).do({ name: "go-zero" }, auth(tokenA))), "ok");
      assert.equal(await code(search(verifier.searchUrl, true).do({ name: "go-zero" }, auth(tokenA))), "ok");

      // rotate: B signs, A still verifies (VerifyKeyFiles) and is still published
      await user.close();
      const rotated = withAuth({ ...userConfig, user: { port: userPort } }, { algorithm: "EdDSA", signingKeyFile: keyB.privateKeyFile, verifyKeyFiles: [keyA.publicKeyFile] });
      user = await startTestApp(rotated, { only: "user" });
      assert.deepEqual((await jwks(user.userUrl)).keys.map((k) => k.kid), [keyB.kid, keyA.kid]);
      const tokenB = (await login(user.userUrl)).accessToken;
      assert.equal(decodeProtectedHeader(tokenB).kid, keyB.kid);
      assert.equal(await code(search(verifier.searchUrl).do({ name: "go-zero" }, auth(tokenB))), "ok", "an unknown kid causes a refetch");
      assert.equal(await code(search(verifier.searchUrl).do({ name: "go-zero" }, auth(tokenA))), "ok", "the old key verifies until retired");

      // the JWKS host goes away: cached keys keep serving
      await user.close();
      assert.equal(await code(search(verifier.searchUrl).do({ name: "go-zero" }, auth(tokenB))), "ok");
      assert.equal(await code(search(verifier.searchUrl).do({ name: "go-zero" }, auth(tokenA))), "ok");

      // retire A: it is no longer published, the user service itself refuses it, and so does the
      // JWKS-only verifier once it has refetched (A's token is in its verified-token cache)
      const retired = withAuth({ ...userConfig, user: { port: userPort } }, { algorithm: "EdDSA", signingKeyFile: keyB.privateKeyFile });
      user = await startTestApp(retired);
      assert.deepEqual((await jwks(user.userUrl)).keys.map((k) => k.kid), [keyB.kid]);
      assert.equal(await code(search(user.searchUrl).do({ name: "go-zero" }, auth(tokenA))), "Unauthenticated");
      assert.equal(await code(search(user.searchUrl).do({ name: "go-zero" }, auth(tokenB))), "ok");
      assert.equal(
        await settlesTo(10_000, "Unauthenticated", () => code(search(verifier.searchUrl).do({ name: "go-zero" }, auth(tokenA)))),
        "Unauthenticated",
        "the JWKS-only verifier refuses the retired key's token",
      );
      assert.equal(await code(search(verifier.searchUrl, true).do({ name: "go-zero" }, auth(tokenA))), "Unauthenticated", "over gRPC too");
      assert.equal(await code(search(verifier.searchUrl).do({ name: "go-zero" }, auth(tokenB))), "ok");
      for (const l of lines) assert.doesNotMatch(l, new RegExp(tokenA.split(".")[2]!));
    } finally {
      await user.close();
      await verifier.close();
    }
  });

  test("with the JWKS host unreachable from the start, calls needing a token are unavailable (retry), public ones work", async () => {
    const searchOnly = withAuth(testConfig(dir.path, { dataSource: `sqlite:${join(dir.path, "jwks-dead.db")}` }), {
      accessSecret: "",
      jwksUrl: "http://127.0.0.1:9/.well-known/jwks.json",
    });
    const user = await startTestApp(userConfig, { only: "user" });
    const verifier = await startTestApp(searchOnly, { only: "search" });
    try {
      const { accessToken } = await login(user.userUrl);
      assert.equal(await code(search(verifier.searchUrl).do({ name: "go-zero" }, auth(accessToken))), "Unavailable");
      assert.equal(await code(search(verifier.searchUrl).do({ name: "go-zero" })), "Unauthenticated", "no token is still the caller's fault");
      assert.equal(await code(search(verifier.searchUrl).ping({})), "ok");
    } finally {
      await user.close();
      await verifier.close();
    }
  });

  test("forged kids cannot hammer the JWKS host, do not delay a freshly rotated kid, and are logged unknown_key; a key dropped from the JWKS stops verifying within JwksMaxAge", async () => {
    let fetches = 0;
    let upstream = `http://127.0.0.1:0`;
    const { createServer } = await import("node:http");
    const counter = createServer((req, res) => {
      fetches++;
      void fetch(`${upstream}${req.url}`).then(
        async (r) => res.end(await r.text()),
        () => res.writeHead(502).end(),
      );
    });
    await new Promise<void>((r) => counter.listen(0, "127.0.0.1", r));
    const port = (counter.address() as { port: number }).port;
    const keyC = await generateKeyFiles("ES256", join(dir.path, "keys-jwks"));
    const start = async (config: Config) => {
      const app = await startTestApp(config, { only: "user" });
      upstream = app.userUrl;
      return app;
    };
    const withA = withAuth(userConfig, { algorithm: "ES256", signingKeyFile: keyA.privateKeyFile });
    let user = await start(withA);
    const { logger, lines } = memoryLogger();
    const verifier = await startTestApp(
      withAuth(testConfig(dir.path, { dataSource: `sqlite:${join(dir.path, "jwks-forged.db")}` }), {
        accessSecret: "",
        jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`,
        jwksCooldown: 60,
        jwksMaxAge: 2,
      }),
      { only: "search", logger },
    );
    try {
      const tokenA = (await login(user.userUrl)).accessToken;
      assert.equal(await code(search(verifier.searchUrl).do({ name: "go-zero" }, auth(tokenA))), "ok");
      const before = fetches;
      const other = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
      const otherKey = await importPKCS8(other.privateKey.export({ format: "pem", type: "pkcs8" }).toString(), "ES256");
      const now = Math.floor(Date.now() / 1000);
      const forged = await Promise.all(
        Array.from({ length: 20 }, (_, i) => new SignJWT({ userId: 1, iat: now, exp: now + 60 }).setProtectedHeader({ alg: "ES256", kid: `forged-${i}` }).sign(otherKey)),
      );
      const refusals = await Promise.all(forged.map((t) => code(search(verifier.searchUrl).do({ name: "go-zero" }, auth(t)))));
      assert.deepEqual(new Set(refusals), new Set(["Unauthenticated"]));
      assert.ok(fetches - before <= 2, `20 forged kids at once: ${fetches - before} fetches (they share one)`);
      const afterForged = fetches;
      for (const t of forged) assert.equal(await code(search(verifier.searchUrl).do({ name: "go-zero" }, auth(t))), "Unauthenticated");
      assert.equal(fetches, afterForged, "a kid already refetched within the cool-down causes no fetch");
      assert.ok(lines.some((l) => /"reason":"unknown_key"/.test(l)), "an unknown kid is logged as unknown_key");
      assert.ok(!lines.some((l) => /"reason":"bad_signature"/.test(l)));

      // rotate to C right after the forged ones: the new kid is fetched at once, not after the cool-down
      await user.close();
      user = await start(withAuth(userConfig, { algorithm: "ES256", signingKeyFile: keyC.privateKeyFile, verifyKeyFiles: [keyA.publicKeyFile] }));
      const tokenC = (await login(user.userUrl)).accessToken;
      assert.equal(await code(search(verifier.searchUrl).do({ name: "go-zero" }, auth(tokenC))), "ok");

      // drop A from the JWKS: A's token (verified and cached above) is refused within JwksMaxAge
      await user.close();
      user = await start(withAuth(userConfig, { algorithm: "ES256", signingKeyFile: keyC.privateKeyFile }));
      const last = await settlesTo(4000, "Unauthenticated", () => code(search(verifier.searchUrl).do({ name: "go-zero" }, auth(tokenA))));
      assert.equal(last, "Unauthenticated", "a key gone from the JWKS stops verifying, cached tokens included");
      assert.equal(await code(search(verifier.searchUrl).do({ name: "go-zero" }, auth(tokenC))), "ok");
    } finally {
      await verifier.close();
      await user.close();
      await new Promise((r) => counter.close(r));
    }
  });
});

test("start-up refuses a missing, mismatched or weak key in one line", async () => {
  const base = await keyedConfig("refuse", {});
  const es = await generateKeyFiles("ES256", join(dir.path, "keys-refuse"));
  const weakRsa = join(dir.path, "weak-rsa.pem");
  writeFileSync(weakRsa, generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ format: "pem", type: "pkcs8" }));
  const notPem = join(dir.path, "not-a-key.pem");
  writeFileSync(notPem, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  const cases: [Partial<Config["auth"]>, RegExp][] = [
    [{ algorithm: "ES256" }, /bookstore keys generate --alg ES256/],
    [{ algorithm: "RS256", signingKeyFile: es.privateKeyFile }, /ES256 key, not RS256/],
    [{ algorithm: "RS256", signingKeyFile: weakRsa }, /at least 2048 bits/],
    [{ algorithm: "ES256", signingKeyFile: notPem }, /not a PEM private key/],
    [{ algorithm: "ES256", signingKeyFile: join(dir.path, "missing.pem") }, /cannot read .*ENOENT/],
    [{ algorithm: "ES256", signingKeyFile: es.privateKeyFile, verifyKeyFiles: [notPem] }, /VerifyKeyFiles\[0\]/],
  ];
  for (const [auth, message] of cases) {
    await assert.rejects(startBookstore(withAuth(base, auth)), (e) => e instanceof ConfigError && message.test(e.message) && !e.message.includes("BEGIN"), message.source);
  }
});

test("the signing key can come from the environment (SIGNING_KEY), as a Kubernetes Secret gives it", async () => {
  const key = await generateKeyFiles("EdDSA", join(dir.path, "keys-env"));
  const base = await keyedConfig("env", {});
  const fromEnv = loadConfig({ env: { SIGNING_ALGORITHM: "EdDSA", SIGNING_KEY: readFileSync(key.privateKeyFile, "utf8") } });
  const app = await startTestApp(withAuth(base, { algorithm: fromEnv.auth.algorithm, signingKey: fromEnv.auth.signingKey }));
  try {
    const { accessToken } = await login(app.userUrl);
    assert.equal(decodeProtectedHeader(accessToken).kid, key.kid);
    assert.equal(await code(search(app.searchUrl).do({ name: "go-zero" }, auth(accessToken))), "ok");
  } finally {
    await app.close();
  }
});

test("bookstore keys generate writes a fresh pair named by its kid, the private half 0600", async () => {
  const out = join(dir.path, "cli-keys");
  const algs: Algorithm[] = ["ES256", "ES256", "RS256", "EdDSA"];
  const kids = new Set<string>();
  for (const alg of algs) {
    const r = await runBookstore(["keys", "generate", "--alg", alg, "--dir", out]);
    assert.equal(r.code, 0, r.stderr);
    const kid = /^kid: (\S+)$/m.exec(r.stdout)![1]!;
    kids.add(kid);
    assert.equal(statSync(join(out, `${kid}.key.pem`)).mode & 0o777, 0o600);
    assert.match(readFileSync(join(out, `${kid}.pub.pem`), "utf8"), /^-----BEGIN PUBLIC KEY-----/);
  }
  assert.equal(kids.size, algs.length, "every key gets its own kid");
  const bad = await runBookstore(["keys", "generate", "--alg", "HS256"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--alg takes RS256, ES256 or EdDSA/);
});
