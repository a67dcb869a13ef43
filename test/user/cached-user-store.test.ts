import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { jitter } from "../../src/cache/cache.js";
import { createMemoryCache } from "../../src/cache/memory-cache.js";
import { AppError } from "../../src/errors.js";
import { openStorage, type StorageContext } from "../../src/service-context.js";
import { idKey, usernameKey } from "../../src/user/cached-user-store.js";
import { addUser, changePassword } from "../../src/user/manage-users.js";
import {
  checkRedis,
  dropKeys,
  manualClock,
  memoryLogger,
  needs,
  resetDatabase,
  runBookstore,
  tempDir,
  testConfig,
  testDataSources,
  testKeyPrefix,
  testPasswordCost,
  testRedisUrl,
} from "../harness.js";

const dir = tempDir();
after(() => dir.remove());

test("jitter spreads lifetimes by about 5%", () => {
  assert.equal(jitter(1000, () => 0), 950);
  assert.equal(jitter(1000, () => 0.999999), 1050);
  assert.equal(jitter(1, () => 0), 1);
});

test("the in-process cache is a bounded LRU with lifetimes", async () => {
  const clock = manualClock();
  const cache = createMemoryCache({ maxEntries: 2, clock });
  await cache.set("a", "1", 10);
  await cache.set("b", "2", 10);
  assert.equal(await cache.get("a"), "1"); // a is now the most recent
  await cache.set("c", "3", 10); // evicts b
  assert.deepEqual([await cache.get("a"), await cache.get("b"), await cache.get("c")], ["1", undefined, "3"]);
  clock.advance(10_001);
  assert.equal(await cache.get("a"), undefined);
});

/** Runs `bookstore user ...` in a child process, as an operator would. */
const cli = (args: string[], env: Record<string, string>, stdin = "") => runBookstore(["user", ...args], { env, stdin });

const redisUrl = testRedisUrl();
const caches = ["memory", "redis"] as const;

for (const kind of caches) {
  const dataDir = join(dir.path, kind);
  for (const { dialect, dataSource } of testDataSources(dataDir)) {
    const skip = needs(...(dialect === "mysql" ? (["mysql"] as const) : []), ...(kind === "redis" ? (["redis"] as const) : []));
    describe(`cached user model on ${dialect} with the ${kind} cache`, { skip }, () => {
      const prefix = testKeyPrefix();
      const config = {
        ...testConfig(dataDir, { dataSource, redisUrl: kind === "redis" ? redisUrl : "", keyPrefix: prefix }),
        dataDir,
      };
      const queries: string[] = [];
      const userQueries = () => queries.filter((q) => /from [`"]user[`"]/.test(q)).length;
      const { logger } = memoryLogger();
      let storage: StorageContext;
      let redis: Redis | undefined;
      const cliEnv: Record<string, string> = {
        DATABASE_URL: dataSource,
        ...(kind === "redis" ? { REDIS_URL: redisUrl! } : {}),
      };

      before(async () => {
        if (kind === "redis") {
          await checkRedis(redisUrl!);
          redis = new Redis(redisUrl!, { keyPrefix: prefix });
        }
        await resetDatabase(dataSource);
        storage = await openStorage(config, { passwordCost: testPasswordCost, logger, onQuery: (q) => queries.push(q) });
        await addUser(storage, { username: "alice", password: "alice-password" });
        await addUser(storage, { username: "bob", password: "bob-password" });
      });
      after(async () => {
        await storage.close();
        redis?.disconnect();
        if (kind === "redis") await dropKeys(redisUrl!, prefix);
      });

      test("a cache hit avoids the database", async () => {
        const before = userQueries();
        const first = await storage.users.findByUsername("alice");
        assert.equal(userQueries(), before + 1);
        const second = await storage.users.findByUsername("alice");
        assert.deepEqual(second, first);
        await storage.users.findById(first!.id);
        assert.equal(userQueries(), before + 1, "no more queries once cached");
        if (redis) {
          assert.equal(await redis.get(usernameKey("alice")), String(first!.id));
          const ttl = await redis.ttl(idKey(first!.id));
          assert.ok(ttl >= 0.95 * config.cache.expiry - 1 && ttl <= 1.05 * config.cache.expiry, `ttl ${ttl}`);
        }
      });

      test("an unknown username is remembered briefly", async () => {
        const before = userQueries();
        assert.equal(await storage.users.findByUsername("mallory"), undefined);
        assert.equal(await storage.users.findByUsername("mallory"), undefined);
        assert.equal(userQueries(), before + 1);
        if (redis) {
          assert.equal(await redis.get(usernameKey("mallory")), "*");
          const ttl = await redis.ttl(usernameKey("mallory"));
          assert.ok(ttl > 0 && ttl <= config.cache.notFoundExpiry, `ttl ${ttl}`);
        }
        // adding the user clears the placeholder
        await addUser(storage, { username: "mallory", password: "mallory-password" });
        assert.equal((await storage.users.findByUsername("mallory"))?.username, "mallory");
      });

      test("no stampede: 25 concurrent lookups of a cold user make one read", async () => {
        await addUser(storage, { username: "carol", password: "carol-password" });
        const before = userQueries();
        const rows = await Promise.all(Array.from({ length: 25 }, () => storage.users.findByUsername("carol")));
        assert.ok(rows.every((r) => r?.username === "carol"));
        assert.equal(userQueries(), before + 1);
      });

      test("a changed password takes effect at once, in this process", async () => {
        const old = await storage.users.findByUsername("alice");
        await changePassword({ ...storage, accessExpire: 600 }, { username: "alice", password: "alice-new-password" });
        const now = await storage.users.findByUsername("alice");
        assert.notEqual(now!.passwordHash, old!.passwordHash);
        assert.equal(await storage.passwords.verify("alice-new-password", now!.passwordHash), true);
        await assert.rejects(changePassword({ ...storage, accessExpire: 600 }, { username: "nobody", password: "whatever-pw" }), (e) => e instanceof AppError && e.kind === "not_found");
      });

      test("a password changed or a user deleted by the CLI takes effect at once in a running server", async () => {
        const cached = await storage.users.findByUsername("bob");
        assert.ok(cached);
        const before = userQueries();
        await storage.users.findByUsername("bob");
        assert.equal(userQueries(), before, "bob is served from the cache");
        // the operator's config names the same data directory and key prefix as the server's
        const file = join(dataDir, "cli.yaml");
        mkdirSync(dataDir, { recursive: true });
        writeFileSync(file, `DataDir: ${JSON.stringify(dataDir)}\nCacheRedis:\n  KeyPrefix: ${JSON.stringify(prefix)}\n`);
        const passwd = await cli(["passwd", "bob", "-f", file], cliEnv, "bob-second-password\n");
        assert.equal(passwd.code, 0, passwd.stderr);
        const changed = await storage.users.findByUsername("bob");
        assert.equal(await storage.passwords.verify("bob-second-password", changed!.passwordHash), true);

        const del = await cli(["del", "bob", "-f", file], cliEnv);
        assert.equal(del.code, 0, del.stderr);
        assert.equal(await storage.users.findByUsername("bob"), undefined);
        assert.equal(await storage.users.findById(cached.id), undefined);

        const again = await cli(["del", "bob", "-f", file], cliEnv);
        assert.equal(again.code, 1);
        assert.equal(again.stderr, "bookstore: no user bob\n");
      });
    });
  }
}

