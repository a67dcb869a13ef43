import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { Config } from "../src/config.js";
import { SearchService } from "../src/gen/search/v1/search_pb.js";
import { UserService } from "../src/gen/user/v1/user_pb.js";
import { openStorage } from "../src/service-context.js";
import { addUser, changePassword } from "../src/user/manage-users.js";
import {
  addTestUsers,
  callCode,
  checkRedis,
  dropKeys,
  needs,
  resetDatabase,
  runBookstore,
  type ServerProcess,
  settlesTo,
  startServerProcess,
  startTestApp,
  tempDir,
  testConfig,
  testKeyPrefix,
  testMysqlUrl,
  testPasswordCost,
  testRedisUrl,
} from "./harness.js";
import { proxyFor } from "./tcp-proxy.js";

const dir = tempDir();
after(() => dir.remove());

const code = callCode;
const auth = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });
const users = (url: string) => createClient(UserService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
const searches = (url: string) => createClient(SearchService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
/** How an authenticated Do with `token` ends on the search service at `url`. */
const doWith = (url: string, token: string) => code(searches(url).do({ name: "go-zero" }, auth(token)));
const mysql = testMysqlUrl();
const redisUrl = testRedisUrl();

describe("embedded default: the CLI and a second process on one DataDir", () => {
  const cwd = join(dir.path, "embedded");
  const file = join(cwd, "bookstore.yaml");
  const procs: ServerProcess[] = [];
  const url = (p: ServerProcess, s: "user" | "search") => `http://127.0.0.1:${p.ports()[s]}`;
  const cli = async (args: string[], stdin = "") => {
    const r = await runBookstore([...args, "-f", file], { cwd, stdin });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  before(async () => {
    mkdirSync(cwd, { recursive: true });
    writeFileSync(file, "User:\n  Port: 0\nSearch:\n  Port: 0\n");
    await cli(["migrate"]);
    for (const name of ["bob", "carol", "dave"]) await cli(["user", "add", name], `${name}-password\n`);
    // the two-process layout of the Keys section: one process per service, one SQLite file and secret
    procs.push(await startServerProcess(["serve", "--only", "user", "-f", file], { cwd, env: {}, ready: /"service":"user".*"msg":"listening"/ }));
    procs.push(await startServerProcess(["serve", "--only", "search", "-f", file], { cwd, env: {}, ready: /"service":"search".*"msg":"listening"/ }));
  });
  after(async () => {
    for (const p of procs) await p.stop();
  });
  const login = async (name: string, password = `${name}-password`) => (await users(url(procs[0]!, "user")).login({ username: name, password })).accessToken;
  const search = (token: string) => doWith(url(procs[1]!, "search"), token);

  test("user passwd ends the old access token on the running server within a second; the new password works", async () => {
    const old = await login("bob");
    assert.equal(await search(old), "ok");
    assert.match(await cli(["user", "passwd", "bob"], "bob-new-password\n"), /ended 1 session\(s\)/);
    assert.equal(await settlesTo(1000, "Unauthenticated", () => search(old)), "Unauthenticated");
    assert.equal(await search(await login("bob", "bob-new-password")), "ok");
  });

  test("Logout on the user process is seen by the search process at once", async () => {
    const token = await login("carol");
    assert.equal(await search(token), "ok");
    assert.equal(await code(users(url(procs[0]!, "user")).logout({}, auth(token))), "ok");
    assert.equal(await settlesTo(1000, "Unauthenticated", () => search(token)), "Unauthenticated");
    assert.equal(await search(await login("carol")), "ok", "a new login still works");
  });

  test("user del: the deleted user's tokens are refused within a second", async () => {
    const token = await login("dave");
    assert.equal(await search(token), "ok");
    assert.match(await cli(["user", "del", "dave"]), /deleted user dave/);
    assert.equal(await settlesTo(1000, "Unauthenticated", () => search(token)), "Unauthenticated");
  });
});

test("past Auth.MaxRevocations a logout ends every session of the user, so the list stays bounded and nothing is dropped", async () => {
  const base = testConfig(dir.path, { dataSource: `sqlite:${join(dir.path, "bound.db")}` });
  const config: Config = { ...base, auth: { ...base.auth, maxRevocations: 4 } };
  await addTestUsers(config, "hank");
  const app = await startTestApp(config);
  try {
    const tokens: string[] = [];
    for (let i = 0; i < 4; i++) tokens.push((await users(app.userUrl).login({ username: "hank", password: "hank-password" })).accessToken);
    const check = (t: string) => doWith(app.searchUrl, t);
    for (const t of tokens.slice(0, 2)) assert.equal(await code(users(app.userUrl).logout({}, auth(t))), "ok"); // 2 entries each
    assert.equal(app.resources.revocations.size, 4);
    assert.deepEqual(await Promise.all(tokens.map(check)), ["Unauthenticated", "Unauthenticated", "ok", "ok"]);
    assert.equal(await code(users(app.userUrl).logout({}, auth(tokens[2]!))), "ok");
    assert.deepEqual(await Promise.all(tokens.map(check)), ["Unauthenticated", "Unauthenticated", "Unauthenticated", "Unauthenticated"], "one cut-off for the user");
    assert.ok(app.resources.revocations.size <= 4 + 1 + 4, `entries: ${app.resources.revocations.size}`);
  } finally {
    await app.close();
  }
});

test("expired revocations leave the log; live ones stay", async () => {
  const config = testConfig(dir.path, { dataSource: `sqlite:${join(dir.path, "prune.db")}` });
  const storage = await openStorage(config, { passwordCost: testPasswordCost });
  try {
    const now = Math.floor(Date.now() / 1000);
    await storage.events.publish(
      { kind: "jti", subject: "gone", notBefore: 0, expiresAt: now - 1 },
      { kind: "sid", subject: "live", notBefore: 0, expiresAt: now + 600 },
    );
    assert.equal(await storage.events.prune(), 1);
    assert.equal(await storage.events.prune(), 0);
  } finally {
    await storage.close();
  }
});

describe("MariaDB + Redis: account changes and outages", { skip: needs("mysql", "redis") }, () => {
  const prefix = testKeyPrefix();
  let config: Config;
  before(async () => {
    await checkRedis(redisUrl!);
    await resetDatabase(mysql!);
  });
  after(() => dropKeys(redisUrl!, prefix));

  test("a login made while the database could not be written (no sid) is ended by a later passwd", async () => {
    const db = await proxyFor(mysql!, 3306);
    config = testConfig(dir.path, { dataSource: db.url, redisUrl, keyPrefix: prefix });
    const storage = await openStorage(config, { passwordCost: testPasswordCost });
    await addUser(storage, { username: "erin", password: "erin-password" });
    const app = await startTestApp(config);
    try {
      await users(app.userUrl).login({ username: "erin", password: "erin-password" }); // caches erin
      db.proxy.cut();
      const down = await users(app.userUrl).login({ username: "erin", password: "erin-password" });
      assert.equal(down.refreshToken, "", "no session while the database is down");
      assert.equal(await doWith(app.searchUrl, down.accessToken), "Unavailable", "the catalog needs the database; the token itself passes");
      assert.equal(await code(users(app.userUrl).logout({}, auth(down.accessToken))), "Unavailable", "a revocation that cannot be recorded is not pretended");
      db.proxy.restore();
      await new Promise((r) => setTimeout(r, 1100)); // a new second: the cut-off is "issued before now"
      await changePassword({ ...storage, accessExpire: config.auth.accessExpire }, { username: "erin", password: "erin-new-password" });
      assert.equal(await settlesTo(1500, "Unauthenticated", () => doWith(app.searchUrl, down.accessToken)), "Unauthenticated");
    } finally {
      await app.close();
      await storage.close();
      await db.proxy.close();
    }
  });

  test("Redis down: authenticated calls keep working on every instance, and a logout still reaches them all", async () => {
    const redis = await proxyFor(redisUrl!, 6379);
    const shared = testConfig(dir.path, { dataSource: mysql!, redisUrl: redis.url, keyPrefix: prefix });
    await addTestUsers(shared, "frank");
    const a = await startTestApp(shared);
    const b = await startTestApp(shared);
    try {
      const [t1, t2] = [await users(a.userUrl).login({ username: "frank", password: "frank-password" }), await users(a.userUrl).login({ username: "frank", password: "frank-password" })];
      redis.proxy.cut();
      for (const app of [a, b]) assert.equal(await doWith(app.searchUrl, t1.accessToken), "ok");
      assert.equal(await code(users(a.userUrl).logout({}, auth(t1.accessToken))), "ok", "the database is the record of revocations");
      for (const app of [a, b]) {
        assert.equal(await settlesTo(1500, "Unauthenticated", () => doWith(app.searchUrl, t1.accessToken)), "Unauthenticated");
        assert.equal(await doWith(app.searchUrl, t2.accessToken), "ok");
      }
      redis.proxy.restore();
      // Redis back: a logout still reaches the other instance (at once through pub/sub: the next test shows that)
      assert.equal(await code(users(a.userUrl).logout({}, auth(t2.accessToken))), "ok");
      assert.equal(await settlesTo(1000, "Unauthenticated", () => doWith(b.searchUrl, t2.accessToken)), "Unauthenticated");
    } finally {
      await a.close();
      await b.close();
      await redis.proxy.close();
    }
  });

  test("with Redis a logout reaches the other instance at once (pub/sub), and one made while its link was down after it reconnects", async () => {
    const redis = await proxyFor(redisUrl!, 6379);
    const direct = testConfig(dir.path, { dataSource: mysql!, redisUrl, keyPrefix: prefix });
    const viaProxy: Config = { ...direct, cacheRedis: { ...direct.cacheRedis, url: redis.url } };
    await addTestUsers(direct, "ivy");
    // the log is read once a minute here: only the announcement (or the reconnect) can be seen
    const a = await startTestApp(direct, { authEventsIntervalMs: 60_000 });
    const b = await startTestApp(viaProxy, { only: "search", authEventsIntervalMs: 60_000 });
    try {
      const [t1, t2] = [await users(a.userUrl).login({ username: "ivy", password: "ivy-password" }), await users(a.userUrl).login({ username: "ivy", password: "ivy-password" })];
      const onB = (t: string) => doWith(b.searchUrl, t);
      assert.equal(await onB(t1.accessToken), "ok");
      assert.equal(await code(users(a.userUrl).logout({}, auth(t1.accessToken))), "ok");
      assert.equal(await settlesTo(500, "Unauthenticated", () => onB(t1.accessToken)), "Unauthenticated");
      redis.proxy.cut(); // b alone loses Redis: the next announcement cannot reach it
      assert.equal(await code(users(a.userUrl).logout({}, auth(t2.accessToken))), "ok");
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(await onB(t2.accessToken), "ok", "not announced to b, not read yet");
      redis.proxy.restore();
      assert.equal(await settlesTo(5000, "Unauthenticated", () => onB(t2.accessToken)), "Unauthenticated", "read after the reconnect");
    } finally {
      await a.close();
      await b.close();
      await redis.proxy.close();
    }
  });

  test("a Redis link that drops each time it subscribes again neither ends the process nor stops the announcements once it holds", async () => {
    const redis = await proxyFor(redisUrl!, 6379);
    const direct = testConfig(dir.path, { dataSource: mysql!, redisUrl, keyPrefix: prefix });
    const viaProxy: Config = { ...direct, cacheRedis: { ...direct.cacheRedis, url: redis.url } };
    await addTestUsers(direct, "judy");
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => unhandled.push(err);
    process.on("unhandledRejection", onUnhandled);
    const a = await startTestApp(direct, { authEventsIntervalMs: 60_000 });
    const b = await startTestApp(viaProxy, { only: "search", authEventsIntervalMs: 60_000 });
    try {
      const [t1, t2] = [await users(a.userUrl).login({ username: "judy", password: "judy-password" }), await users(a.userUrl).login({ username: "judy", password: "judy-password" })];
      redis.proxy.dropOnSend("subscribe");
      redis.proxy.cut();
      redis.proxy.restore();
      // b reconnects, is ready, subscribes: the link dies there, again and again
      await settlesTo(10_000, "3", async () => String(Math.min(redis.proxy.dropped, 3)));
      assert.ok(redis.proxy.dropped >= 3, `dropped while subscribing: ${redis.proxy.dropped}`);
      assert.equal(await doWith(b.searchUrl, t1.accessToken), "ok", "b serves through it");
      redis.proxy.dropOnSend(undefined);
      await new Promise((r) => setTimeout(r, 2500)); // past b's longest reconnect back-off
      // the log is read once a minute and at each reconnect: only the announcement can bring this
      assert.equal(await code(users(a.userUrl).logout({}, auth(t2.accessToken))), "ok");
      assert.equal(await settlesTo(1000, "Unauthenticated", () => doWith(b.searchUrl, t2.accessToken)), "Unauthenticated", "announced");
      assert.deepEqual(unhandled.map((e) => (e as Error).message), []);
    } finally {
      process.off("unhandledRejection", onUnhandled);
      await a.close();
      await b.close();
      await redis.proxy.close();
    }
  });

  test("an instance that has never read the revocations fails closed (unavailable), then serves once it has", async () => {
    const db = await proxyFor(mysql!, 3306);
    const good = testConfig(dir.path, { dataSource: mysql!, redisUrl, keyPrefix: prefix });
    await addTestUsers(good, "grace");
    const issuer = await startTestApp(good);
    db.proxy.cut();
    const cut: Config = { ...good, database: { ...good.database, dataSource: db.url, autoMigrate: false } };
    const blind = await startTestApp(cut, { only: "search" });
    try {
      const { accessToken } = await users(issuer.userUrl).login({ username: "grace", password: "grace-password" });
      assert.equal(await doWith(blind.searchUrl, accessToken), "Unavailable");
      assert.equal(await code(searches(blind.searchUrl).ping({})), "ok", "public methods are not affected");
      db.proxy.restore();
      assert.equal(await settlesTo(2500, "ok", () => doWith(blind.searchUrl, accessToken)), "ok");
    } finally {
      await blind.close();
      await issuer.close();
      await db.proxy.close();
    }
  });
});
