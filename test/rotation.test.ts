import assert from "node:assert/strict";
import { after, test } from "node:test";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { decodeProtectedHeader, type JWK } from "jose";
import { generateKeyFiles } from "../src/auth/generate-key.js";
import { ConfigError, type Config } from "../src/config.js";
import { SearchService } from "../src/gen/search/v1/search_pb.js";
import { UserService } from "../src/gen/user/v1/user_pb.js";
import { startBookstore } from "../src/main.js";
import { openStorage } from "../src/service-context.js";
import { addUser } from "../src/user/manage-users.js";
import { loadConfig } from "../src/config.js";
import { callCode, memoryLogger, startTestApp, tempDir, testConfig, testPasswordCost, testSecret } from "./harness.js";

const dir = tempDir();
after(() => dir.remove());

test("rotating the secret: old tokens keep working while PrevAccessSecret names the old one, then stop", async () => {
  const [oldSecret, newSecret] = [testSecret(), testSecret()];
  const base = testConfig(dir.path, { accessSecret: oldSecret });
  const withAuth = (auth: Partial<Config["auth"]>): Config => ({ ...base, auth: { ...base.auth, ...auth } });
  const storage = await openStorage(base, { passwordCost: testPasswordCost });
  await addUser(storage, { username: "alice", password: "alice-password" });
  await storage.close();

  const before = await startTestApp(base);
  const oldToken = (await createClient(UserService, createConnectTransport({ baseUrl: before.userUrl, httpVersion: "1.1" })).login({ username: "alice", password: "alice-password" })).accessToken;
  await before.close();

  const during = await startTestApp(withAuth({ accessSecret: newSecret, prevAccessSecret: oldSecret }), { only: "search" });
  const after = await startTestApp(withAuth({ accessSecret: newSecret }), { only: "search" });
  try {
    const search = (url: string) => createClient(SearchService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
    assert.equal((await search(during.searchUrl).do({ name: "go-zero" }, { headers: { authorization: oldToken } })).count, 100n);
    await assert.rejects(search(after.searchUrl).do({ name: "go-zero" }, { headers: { authorization: oldToken } }), (e) => ConnectError.from(e).code === Code.Unauthenticated);
  } finally {
    await during.close();
    await after.close();
  }
});

test("a weak or unchanged PrevAccessSecret refuses to start", async () => {
  const secret = testSecret();
  const base = testConfig(dir.path, { accessSecret: secret });
  for (const prev of ["short", secret]) {
    await assert.rejects(startBookstore({ ...base, auth: { ...base.auth, prevAccessSecret: prev } }), (e) => e instanceof ConfigError && /PrevAccessSecret/.test(e.message));
  }
});

test("moving from HS256 to a key pair: the old secret as PrevAccessSecret keeps its tokens verifying, new ones use the key; without it they are refused", async () => {
  const oldSecret = testSecret();
  const base = testConfig(dir.path, { accessSecret: oldSecret, dataSource: `sqlite:${join(dir.path, "to-keys.db")}` });
  const storage = await openStorage(base, { passwordCost: testPasswordCost });
  await addUser(storage, { username: "alice", password: "alice-password" });
  await storage.close();
  const users = (url: string) => createClient(UserService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
  const search = (url: string, grpc: boolean) =>
    createClient(SearchService, grpc ? createGrpcTransport({ baseUrl: url }) : createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
  const code = callCode;
  const auth = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });

  const hs256 = await startTestApp(base);
  const old = await users(hs256.userUrl).login({ username: "alice", password: "alice-password" });
  await hs256.close();
  assert.equal(decodeProtectedHeader(old.accessToken).alg, "HS256");

  const key = await generateKeyFiles("ES256", join(dir.path, "to-keys"));
  // as an operator writes it: SIGNING_ALGORITHM, SIGNING_KEY_FILE, and the old ACCESS_SECRET moved to PREV_ACCESS_SECRET
  const fromEnv = loadConfig({ env: { SIGNING_ALGORITHM: "ES256", SIGNING_KEY_FILE: key.privateKeyFile, PREV_ACCESS_SECRET: oldSecret } });
  const keyed = (auth: Partial<Config["auth"]>): Config => ({
    ...base,
    auth: { ...base.auth, accessSecret: "", algorithm: fromEnv.auth.algorithm, signingKeyFile: fromEnv.auth.signingKeyFile, ...auth },
  });
  const during = await startTestApp(keyed({ prevAccessSecret: fromEnv.auth.prevAccessSecret }));
  const { logger, lines } = memoryLogger();
  const after = await startTestApp(keyed({}), { logger });
  try {
    for (const grpc of [false, true]) {
      assert.equal(await code(search(during.searchUrl, grpc).do({ name: "go-zero" }, auth(old.accessToken))), "ok", `the HS256 token keeps verifying (gRPC: ${grpc})`);
    }
    const fresh = await users(during.userUrl).login({ username: "alice", password: "alice-password" });
    assert.deepEqual(decodeProtectedHeader(fresh.accessToken), { alg: "ES256", typ: "JWT", kid: key.kid }, "new tokens are signed by the key pair");
    assert.equal(decodeProtectedHeader(fresh.refreshToken).alg, "ES256");
    assert.equal(await code(search(during.searchUrl, true).do({ name: "go-zero" }, auth(fresh.accessToken))), "ok");
    const renewed = await users(during.userUrl).refresh({ refreshToken: old.refreshToken });
    assert.equal(decodeProtectedHeader(renewed.accessToken).alg, "ES256", "a session begun under HS256 goes on, now under the key");
    const published = (await (await fetch(`${during.userUrl}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
    assert.deepEqual(published.keys.map((k) => k.kid), [key.kid], "the old secret is never published");

    for (const grpc of [false, true]) {
      assert.equal(await code(search(after.searchUrl, grpc).do({ name: "go-zero" }, auth(old.accessToken))), "Unauthenticated", `without PrevAccessSecret (gRPC: ${grpc})`);
    }
    assert.equal(await code(search(after.searchUrl, false).do({ name: "go-zero" }, auth(fresh.accessToken))), "ok", "the key pair's tokens still verify");
    const reasons = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === "access token rejected").map((l) => l.reason);
    assert.deepEqual(reasons, ["unknown_key", "unknown_key"]);
  } finally {
    await during.close();
    await after.close();
  }
});
