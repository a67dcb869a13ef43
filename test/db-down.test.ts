// README "When a backend fails", row "database down", beyond Login and token checks (faults.test.ts):
// Refresh, Logout and account changes are unavailable and change nothing; Do answers from the
// cached catalog, and is unavailable for a book not cached; a user already in the cache can still
// log in (an access token, no refresh token). The outage is a TCP forwarder in front of MariaDB
// that the test cuts and restores; the database itself is never stopped.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { SearchService } from "../src/gen/search/v1/search_pb.js";
import { UserService } from "../src/gen/user/v1/user_pb.js";
import { openStorage } from "../src/service-context.js";
import { addUser } from "../src/user/manage-users.js";
import {
  callCode,
  checkRedis,
  dropKeys,
  needs,
  resetDatabase,
  runBookstore,
  startTestApp,
  tempDir,
  testConfig,
  testKeyPrefix,
  testMysqlUrl,
  testPasswordCost,
  testRedisUrl,
  testSecret,
} from "./harness.js";
import { proxyFor, type TcpProxy } from "./tcp-proxy.js";

const dir = tempDir();
after(() => dir.remove());

/** How a call ended: "ok" or its Connect code's name. */
const outcome = callCode;

const variants = [
  { cache: "the in-process cache", redisUrl: undefined, skip: needs("mysql") },
  { cache: "Redis", redisUrl: testRedisUrl(), skip: needs("mysql", "redis") },
];

for (const { cache, redisUrl, skip } of variants) describe(`database down: what still answers and what is unavailable (MySQL, users in ${cache})`, { skip }, () => {
  const prefix = testKeyPrefix();
  let proxy: TcpProxy;
  let proxiedUrl: string;
  let app: Awaited<ReturnType<typeof startTestApp>>;
  let users: ReturnType<typeof createClient<typeof UserService>>;
  let search: ReturnType<typeof createClient<typeof SearchService>>;
  const cwd = join(dir.path, `cli-${prefix.replace(/\W/g, "")}`);
  const secret = testSecret();

  before(async () => {
    const mysqlUrl = testMysqlUrl()!;
    await resetDatabase(mysqlUrl);
    ({ proxy, url: proxiedUrl } = await proxyFor(mysqlUrl, 3306));
    if (redisUrl !== undefined) await checkRedis(redisUrl);
    const config = testConfig(dir.path, { dataSource: proxiedUrl, accessSecret: secret, redisUrl, keyPrefix: prefix });
    const storage = await openStorage(config, { passwordCost: testPasswordCost });
    for (const name of ["alice", "bob", "carol"]) await addUser(storage, { username: name, password: `${name}-password` });
    await storage.close();
    app = await startTestApp(config);
    users = createClient(UserService, createConnectTransport({ baseUrl: app.userUrl, httpVersion: "1.1" }));
    search = createClient(SearchService, createConnectTransport({ baseUrl: app.searchUrl, httpVersion: "1.1" }));
    mkdirSync(cwd, { recursive: true });
  });
  after(async () => {
    proxy?.restore();
    await app?.close();
    await proxy?.close();
    if (redisUrl !== undefined) await dropKeys(redisUrl, prefix);
  });

  test("Refresh, Logout and `user passwd` are unavailable and change nothing; Do serves cached books; a cached user logs in without a refresh token", async () => {
    // before the outage: alice and bob log in (so both are cached), go-zero is looked up (so it is cached)
    const alice = await users.login({ username: "alice", password: "alice-password" });
    const bob = await users.login({ username: "bob", password: "bob-password" });
    const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
    assert.equal((await search.do({ name: "go-zero" }, auth(alice.accessToken))).count, 100n);

    proxy.cut();
    // the catalog: a book looked up before the outage is served from memory; any other needs the database
    assert.equal((await search.do({ name: "go-zero" }, auth(alice.accessToken))).count, 100n);
    assert.equal(await outcome(search.do({ name: "never-looked-up" }, auth(alice.accessToken))), "Unavailable");
    // sessions need the database: nothing is refreshed or revoked, and no error pretends otherwise
    assert.equal(await outcome(users.refresh({ refreshToken: alice.refreshToken })), "Unavailable");
    assert.equal(await outcome(users.logout({}, auth(bob.accessToken))), "Unavailable");
    assert.equal((await search.do({ name: "go-zero" }, auth(bob.accessToken))).count, 100n, "bob's failed logout revoked nothing");
    // a cached user logs in: an access token that works, no session to refresh; an uncached one cannot
    const degraded = await users.login({ username: "alice", password: "alice-password" });
    assert.equal(degraded.refreshToken, "");
    assert.equal((await search.do({ name: "go-zero" }, auth(degraded.accessToken))).count, 100n);
    assert.equal(await outcome(users.login({ username: "carol", password: "carol-password" })), "Unavailable");
    assert.equal(await outcome(users.login({ username: "alice", password: "wrong-password" })), "Unauthenticated", "the cached hash still refuses a wrong password");
    // an account change: the CLI says the database cannot be reached and exits non-zero
    const env: Record<string, string> = { DATABASE_URL: proxiedUrl, ACCESS_SECRET: secret, ...(redisUrl === undefined ? {} : { REDIS_URL: redisUrl }) };
    const passwd = await runBookstore(["user", "passwd", "alice"], { cwd, env, stdin: "a-new-password\n" });
    assert.equal(passwd.code, 1, passwd.stdout);
    assert.match(passwd.stderr, /^bookstore: Database\.DataSource \(DATABASE_URL\): cannot reach the database at 127\.0\.0\.1:\d+ \(/, passwd.stderr);

    proxy.restore();
    // the same calls once the pool reconnects: nothing was consumed or changed by the failed ones
    for (let i = 0; (await outcome(users.login({ username: "carol", password: "carol-password" }))) !== "ok"; i++) {
      assert.ok(i < 100, "Login works again");
      await sleep(100);
    }
    const renewed = await users.refresh({ refreshToken: alice.refreshToken });
    assert.notEqual(renewed.accessToken, "", "the refresh token tried during the outage was not retired");
    assert.equal(await outcome(users.login({ username: "alice", password: "alice-password" })), "ok", "the password did not change");
    assert.equal(await outcome(users.logout({}, auth(bob.accessToken))), "ok");
    assert.equal(await outcome(search.do({ name: "go-zero" }, auth(bob.accessToken))), "Unauthenticated", "bob's logout, now recorded");
    assert.equal((await search.do({ name: "never-looked-up" }, auth(renewed.accessToken))).count, 0n);
  });
});
