import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { sql } from "kysely";
import { Redis } from "ioredis";
import type { Config } from "../src/config.js";
import { SearchService } from "../src/gen/search/v1/search_pb.js";
import { UserService } from "../src/gen/user/v1/user_pb.js";
import { openStorage } from "../src/service-context.js";
import { addUser } from "../src/user/manage-users.js";
import {
  callCode,
  checkRedis,
  dropKeys,
  memoryLogger,
  needs,
  resetDatabase,
  runBookstore,
  settlesTo,
  startTestApp,
  tempDir,
  testConfig,
  testDataSources,
  testKeyPrefix,
  testPasswordCost,
  testRedisUrl,
} from "./harness.js";

const dir = tempDir();
after(() => dir.remove());

const code = callCode;
const auth = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });

const redisUrl = testRedisUrl();
const setups = testDataSources(dir.path).map(({ dialect, dataSource }) => ({
  name: dialect === "mysql" ? "MySQL + Redis, two instances" : "embedded SQLite, one instance",
  dataSource,
  redis: dialect === "mysql" ? redisUrl : undefined,
  skip: dialect === "mysql" ? needs("mysql", "redis") : false,
}));

for (const setup of setups) {
  describe(`refresh tokens (${setup.name})`, { skip: setup.skip }, () => {
    const prefix = testKeyPrefix();
    let config: Config;
    const apps: Awaited<ReturnType<typeof startTestApp>>[] = [];
    const logs = memoryLogger();
    let users: Client<typeof UserService>[];
    let searches: Client<typeof SearchService>[];
    const password = "alice-password";

    before(async () => {
      if (setup.redis) await checkRedis(setup.redis);
      await resetDatabase(setup.dataSource);
      const base = testConfig(dir.path, { dataSource: setup.dataSource, redisUrl: setup.redis ?? "", keyPrefix: prefix, accessExpire: 600 });
      config = { ...base, log: { ...base.log, level: "info" } };
      const storage = await openStorage(config, { passwordCost: testPasswordCost });
      await addUser(storage, { username: "alice", password });
      await addUser(storage, { username: "bob", password: "bob-password" });
      await storage.close();
      apps.push(await startTestApp(config, { logger: logs.logger }));
      if (setup.redis) apps.push(await startTestApp(config, { logger: logs.logger }));
      users = apps.map((a) => createClient(UserService, createConnectTransport({ baseUrl: a.userUrl, httpVersion: "1.1" })));
      searches = apps.map((a) => createClient(SearchService, createGrpcTransport({ baseUrl: a.searchUrl })));
    });
    after(async () => {
      for (const a of apps) await a.close();
      if (setup.redis) await dropKeys(setup.redis, prefix);
    });
    const last = <T>(list: T[]) => list[list.length - 1]!;

    test("Login returns a refresh token; Refresh rotates the pair; access and refresh tokens cannot stand in for each other", async () => {
      const first = await users[0]!.login({ username: "alice", password });
      assert.ok(first.refreshToken.length > 0);
      assert.equal(decodeProtectedHeader(first.refreshToken).typ, "refresh+jwt");
      const sid = decodeJwt(first.accessToken).sid;
      assert.equal(typeof sid, "string");
      assert.equal(decodeJwt(first.refreshToken).sid, sid);
      assert.ok(first.refreshExpire > first.accessExpire);

      const second = await last(users).refresh({ refreshToken: first.refreshToken });
      assert.notEqual(second.refreshToken, first.refreshToken);
      assert.notEqual(second.accessToken, first.accessToken);
      assert.equal(decodeJwt(second.accessToken).sid, sid, "same session");
      for (const s of searches) assert.equal(await code(s.do({ name: "go-zero" }, auth(second.accessToken))), "ok");

      for (const s of searches) assert.equal(await code(s.do({ name: "go-zero" }, auth(second.refreshToken))), "Unauthenticated", "a refresh token is not an access token");
      assert.equal(await code(users[0]!.refresh({ refreshToken: second.accessToken })), "Unauthenticated", "an access token is not a refresh token");
      assert.equal(await code(users[0]!.refresh({ refreshToken: "" })), "InvalidArgument");
      assert.equal(await code(users[0]!.refresh({ refreshToken: "not.a.token" })), "Unauthenticated");
    });

    test("reusing a retired refresh token revokes the whole session, its access tokens included, on every instance", async () => {
      const a = await users[0]!.login({ username: "alice", password });
      const other = await users[0]!.login({ username: "alice", password }); // another session of the same user
      const b = await users[0]!.refresh({ refreshToken: a.refreshToken });
      const c = await last(users).refresh({ refreshToken: b.refreshToken });
      for (const s of searches) assert.equal(await code(s.do({ name: "go-zero" }, auth(c.accessToken))), "ok");

      // a stolen copy of `a` (already retired) is replayed
      assert.equal(await code(last(users).refresh({ refreshToken: a.refreshToken })), "Unauthenticated");
      assert.equal(await code(users[0]!.refresh({ refreshToken: c.refreshToken })), "Unauthenticated", "the live token of the session is dead too");
      for (const s of searches) {
        assert.equal(await code(s.do({ name: "go-zero" }, auth(c.accessToken))), "Unauthenticated", "access tokens of the session are refused");
        assert.equal(await code(s.do({ name: "go-zero" }, auth(other.accessToken))), "ok", "other sessions are untouched");
      }
      assert.equal(await code(users[0]!.refresh({ refreshToken: other.refreshToken })), "ok");
      assert.ok(logs.lines.some((l) => /refresh token reused or session ended; session revoked/.test(l)));
    });

    test("two concurrent uses of one refresh token: exactly one wins, and the session ends", async () => {
      const a = await users[0]!.login({ username: "alice", password });
      const won: { accessToken: string; refreshToken: string }[] = [];
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => code(users[i % users.length]!.refresh({ refreshToken: a.refreshToken }).then((pair) => void won.push(pair)))),
      );
      assert.equal(results.filter((r) => r === "ok").length, 1, results.join(","));
      assert.equal(results.filter((r) => r === "Unauthenticated").length, 5);
      // the losers were reuses: the winner's new pair and the session's first access token are dead too
      assert.equal(await code(users[0]!.refresh({ refreshToken: won[0]!.refreshToken })), "Unauthenticated");
      for (const s of searches) {
        for (const t of [a.accessToken, won[0]!.accessToken]) {
          assert.equal(await settlesTo(1500, "Unauthenticated", () => code(s.do({ name: "go-zero" }, auth(t)))), "Unauthenticated", "the session is revoked on every instance");
        }
      }
    });

    test("Logout ends the session: its refresh token stops working and its access token is refused everywhere", async () => {
      const a = await users[0]!.login({ username: "bob", password: "bob-password" });
      const b = await users[0]!.refresh({ refreshToken: a.refreshToken });
      assert.equal(await code(last(users).logout({}, auth(b.accessToken))), "ok");
      assert.equal(await code(users[0]!.refresh({ refreshToken: b.refreshToken })), "Unauthenticated");
      for (const s of searches) assert.equal(await code(s.do({ name: "go-zero" }, auth(a.accessToken))), "Unauthenticated", "earlier access tokens of the session too");
    });

    test("refresh tokens are stored only as hashes, in the database and the cache", async () => {
      const a = await users[0]!.login({ username: "alice", password });
      const storage = await openStorage(config, { logger: memoryLogger().logger });
      try {
        const rows = await sql<Record<string, unknown>>`select * from refresh_token`.execute(storage.database.db);
        assert.ok(rows.rows.length > 0);
        const everything = JSON.stringify(rows.rows);
        const signature = a.refreshToken.split(".")[2]!;
        assert.equal(everything.includes(signature), false);
        assert.equal(everything.includes(a.refreshToken), false);
      } finally {
        await storage.close();
      }
      if (setup.redis) {
        const client = new Redis(setup.redis);
        try {
          const keys = await client.keys(`${prefix}cache:refresh:*`);
          assert.ok(keys.length > 0, "records are cached in Redis");
          const values = await Promise.all(keys.map((k) => client.get(k)));
          const all = keys.join() + values.join();
          assert.equal(all.includes(a.refreshToken.split(".")[2]!), false);
        } finally {
          client.disconnect();
        }
      }
      for (const l of logs.lines) assert.equal(l.includes(a.refreshToken.split(".")[2]!), false, "never logged");
    });

    test("a password change through the CLI ends the user's sessions", async () => {
      const a = await users[0]!.login({ username: "alice", password });
      const env: Record<string, string> = { DATABASE_URL: setup.dataSource, ACCESS_SECRET: config.auth.accessSecret };
      if (setup.redis) env.REDIS_URL = setup.redis;
      const cli = await runBookstore(["user", "passwd", "alice", "-f", writeConfig(config)], { env, stdin: "alice-new-password\n" });
      assert.equal(cli.code, 0, cli.stderr);
      assert.match(cli.stdout, /ended [1-9]\d* session\(s\)/);
      assert.equal(await code(last(users).refresh({ refreshToken: a.refreshToken })), "Unauthenticated");
      if (setup.redis) {
        // shared revocations: the access tokens of ended sessions are refused at once too
        for (const s of searches) assert.equal(await code(s.do({ name: "go-zero" }, auth(a.accessToken))), "Unauthenticated");
      }
    });
  });
}

/** The few settings the CLI needs to reach the same stores (key prefix included). */
function writeConfig(config: Config): string {
  const path = `${dir.path}/cli-${Math.random().toString(36).slice(2)}.yaml`;
  const text = [
    `DataDir: ${config.dataDir}`,
    "CacheRedis:",
    `  KeyPrefix: "${config.cacheRedis.keyPrefix}"`,
    "Auth:",
    `  AccessExpire: ${config.auth.accessExpire}`,
  ].join("\n");
  writeFileSync(path, text + "\n");
  return path;
}

for (const { dialect, dataSource, skip } of testDataSources(dir.path)) {
  test(`expired refresh tokens and their emptied sessions are pruned (${dialect})`, { skip }, async () => {
    await resetDatabase(dataSource);
    const own = dialect === "sqlite" ? `sqlite:${dir.path}/prune.db` : dataSource;
    const storage = await openStorage(testConfig(dir.path, { dataSource: own }), { logger: memoryLogger().logger });
    try {
      const store = storage.sessionStore;
      await store.start("old-session", 1, "old-hash", 1000, 500);
      await store.start("live-session", 1, "live-hash", 5000, 500);
      await store.add("live-session", 1, "live-hash-2", 900);
      assert.equal(await store.prune(2000), 2);
      assert.equal(await store.find("old-hash"), undefined);
      assert.equal(await store.find("live-hash-2"), undefined);
      assert.deepEqual(await store.find("live-hash"), { sessionId: "live-session", userId: 1, expiresAt: 5000 });
      const sessions = await sql<{ id: string }>`select id from refresh_session order by id`.execute(storage.database.db);
      assert.deepEqual(sessions.rows.map((r) => r.id), ["live-session"]);
      assert.equal(await store.consume("live-hash", 2000), true);
      assert.equal(await store.consume("live-hash", 2000), false, "used once");
    } finally {
      await storage.close();
    }
  });
}
