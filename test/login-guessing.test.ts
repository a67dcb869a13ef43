import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Redis } from "ioredis";
import { loadConfig, type Config } from "../src/config.js";
import { UserService } from "../src/gen/user/v1/user_pb.js";
import { openStorage } from "../src/service-context.js";
import { addUser } from "../src/user/manage-users.js";
import {
  addTestUsers,
  callOutcome as outcome,
  checkRedis,
  dropKeys,
  needs,
  resetDatabase,
  runBookstore,
  settlesTo,
  startTestApp,
  tempDir,
  testKeyPrefix,
  testMysqlUrl,
  testPasswordCost,
  testRedisUrl,
  testSecret,
} from "./harness.js";
import { recordSpans } from "./spans.js";
import { proxyFor } from "./tcp-proxy.js";

const dir = tempDir();
after(() => dir.remove());

const redisUrl = testRedisUrl();
const mysql = testMysqlUrl();

const count = (codes: string[], c: string) => codes.filter((x) => x === c).length;

// The password checks that ran, seen as the server's own `password.verify` spans (src/auth/password.ts)
// through an in-memory exporter registered as a user's OpenTelemetry SDK would be: what reached
// the hash is counted, not inferred from the answers.
const spans = recordSpans();
/** Runs `work` and returns its result with how many password hashes were checked meanwhile. */
async function countingHashes<T>(work: () => Promise<T>): Promise<{ result: T; hashed: number }> {
  spans.reset();
  const result = await work();
  return { result, hashed: spans.getFinishedSpans().filter((s) => s.name === "password.verify").length };
}

/** A config file the in-process servers and the CLI both read; every client address comes from X-Forwarded-For. */
function configFile(name: string, lines: string[]): { file: string; config: Config } {
  const file = join(dir.path, `${name}.yaml`);
  writeFileSync(
    file,
    [
      "User:", "  Port: 0", "Search:", "  Port: 0",
      `DataDir: ${join(dir.path, `${name}-data`)}`,
      "Database:", `  DataSource: sqlite:${join(dir.path, `${name}.db`)}`,
      `TrustedProxies: ["127.0.0.1", "::1"]`,
      "LoginLimits:", "  MaxFailuresPerUser: 5", "  MaxAttemptsPerAddress: 1000", "  SlowdownAfter: 12", "  MaxDelay: 60", "  Window: 300",
      ...lines,
    ].join("\n") + "\n",
  );
  return { file, config: loadConfig({ file, env: { ACCESS_SECRET: secret } }) };
}
const secret = testSecret();

for (const store of ["in-process", "redis"]) {
  describe(`login guessing (${store})`, { skip: store === "redis" && needs("redis") }, () => {
    const prefix = testKeyPrefix();
    const { file, config } = configFile(`guess-${store}`, store === "redis" ? ["CacheRedis:", `  Url: ${redisUrl}`, `  KeyPrefix: "${prefix}"`] : []);
    const apps: Awaited<ReturnType<typeof startTestApp>>[] = [];
    before(async () => {
      if (store === "redis") await checkRedis(redisUrl!);
      const storage = await openStorage(config, { passwordCost: testPasswordCost });
      for (const u of ["alice", "bob", "carol", "dave", "café"]) await addUser(storage, { username: u, password: `${u}-password` });
      await assert.rejects(addUser(storage, { username: " erin", password: "erin-password" }), /begin or end with white space/);
      await storage.close();
      apps.push(await startTestApp(config, { only: "user" }));
      if (store === "redis") apps.push(await startTestApp(config, { only: "user" })); // shares the counters
    });
    after(async () => {
      for (const a of apps) await a.close();
      if (store === "redis") await dropKeys(redisUrl!, prefix);
    });
    const login = (i: number, username: string, password: string, address: string) =>
      outcome(
        createClient(UserService, createConnectTransport({ baseUrl: apps[i % apps.length]!.userUrl, httpVersion: "1.1" })).login(
          { username, password },
          { headers: { "x-forwarded-for": address } },
        ),
      );

    test("40 wrong guesses at once from one address: exactly MaxFailuresPerUser reach the password hash", async () => {
      const { result, hashed } = await countingHashes(() => Promise.all(Array.from({ length: 40 }, (_, i) => login(i, "alice", "wrong-password", "203.0.113.7"))));
      const codes = result.map((o) => o.code);
      assert.equal(count(codes, "Unauthenticated"), 5, codes.join(" "));
      assert.equal(count(codes, "ResourceExhausted"), 35);
      assert.equal(hashed, 5, "password hashes checked");
    });

    test("a lock holds one (username, address) pair: the owner logs in from elsewhere", async () => {
      assert.equal((await login(0, "alice", "alice-password", "203.0.113.7")).code, "ResourceExhausted", "locked at the guessing address, even with the right password");
      assert.equal((await login(1, "alice", "alice-password", "198.51.100.20")).code, "ok", "the owner, elsewhere");
    });

    test("across addresses a username is slowed with growing delays, never locked for its owner", async () => {
      // 12 failures from 12 addresses (SlowdownAfter), then attempts are spaced: 1 s, 2 s, ...
      for (let i = 0; i < 12; i++) assert.equal((await login(i, "bob", "wrong-password", `192.0.2.${i + 1}`)).code, "Unauthenticated");
      assert.equal((await login(0, "bob", "wrong-password", "192.0.2.100")).code, "Unauthenticated", "the 13th passes and starts a 1 s delay");
      const spaced = await login(1, "bob", "bob-password", "198.51.100.21");
      assert.equal(spaced.code, "ResourceExhausted");
      assert.ok(spaced.retryAfter! >= 1 && spaced.retryAfter! <= 2, `retry-after ${spaced.retryAfter}`);
      await new Promise((r) => setTimeout(r, spaced.retryAfter! * 1000 + 50));
      assert.equal((await login(0, "bob", "bob-password", "198.51.100.21")).code, "ok", "the owner gets in once the delay has passed");
    });

    test("usernames compare in NFC: both spellings are one account and one counter", async () => {
      const decomposed = "cafe\u0301";
      assert.equal((await login(0, decomposed, "café-password", "198.51.100.30")).code, "ok");
      for (let i = 0; i < 3; i++) assert.equal((await login(i, "café", "wrong-password", "198.51.100.31")).code, "Unauthenticated");
      for (let i = 0; i < 2; i++) assert.equal((await login(i, decomposed, "wrong-password", "198.51.100.31")).code, "Unauthenticated");
      assert.equal((await login(0, decomposed, "café-password", "198.51.100.31")).code, "ResourceExhausted");
    });

    test("bookstore user unlock clears a lock on every running instance within a second", async () => {
      for (let i = 0; i < 5; i++) await login(i, "carol", "wrong-password", "198.51.100.40");
      assert.equal((await login(0, "carol", "carol-password", "198.51.100.40")).code, "ResourceExhausted");
      const r = await runBookstore(["user", "unlock", "carol", "-f", file], { env: { ACCESS_SECRET: secret } });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /cleared the login limits of carol/);
      let i = 0;
      assert.equal(await settlesTo(1000, "ok", async () => (await login(i++, "carol", "carol-password", "198.51.100.40")).code), "ok");
    });
  });
}

describe("Redis down: the login limits fall back to each instance's own", { skip: needs("redis") }, () => {
  for (const failure of ["cut", "stall"] as const) {
    test(`Redis ${failure === "cut" ? "refusing connections" : "hung"}: parallel guesses are still capped before the hash, and logins keep working`, async () => {
      await checkRedis(redisUrl!);
      const { proxy, url } = await proxyFor(redisUrl!, 6379);
      const prefix = testKeyPrefix();
      const { config } = configFile(`guess-outage-${failure}`, ["CacheRedis:", `  Url: ${url}`, `  KeyPrefix: "${prefix}"`]);
      await addTestUsers(config, "alice", "bob");
      const app = await startTestApp(config, { only: "user" });
      try {
        const client = createClient(UserService, createConnectTransport({ baseUrl: app.userUrl, httpVersion: "1.1" }));
        const attempt = (username: string, password: string, address: string) =>
          outcome(client.login({ username, password }, { headers: { "x-forwarded-for": address } })).then((o) => o.code);
        // while Redis answers, the counters are there (and the connection below is a live one)
        assert.equal(await attempt("bob", "wrong-password", "203.0.113.8"), "Unauthenticated");
        const redis = new Redis(redisUrl!, { lazyConnect: true, maxRetriesPerRequest: 0 });
        await redis.connect();
        try {
          assert.deepEqual(await redis.hgetall(`${prefix}login:fail:user:bob`), { "203.0.113.8": "1" });
        } finally {
          redis.disconnect();
        }
        proxy[failure]();
        const { result: codes, hashed } = await countingHashes(() =>
          Promise.all(Array.from({ length: 20 }, () => attempt("alice", "wrong-password", "203.0.113.9"))),
        );
        assert.equal(count(codes, "Unauthenticated"), 5, codes.join(" "));
        assert.equal(count(codes, "ResourceExhausted"), 15);
        assert.equal(hashed, 5, "password hashes checked while Redis is down");
        assert.equal(await attempt("alice", "alice-password", "203.0.113.9"), "ResourceExhausted", "the pair stays locked, even with the right password");
        assert.equal(await attempt("alice", "alice-password", "198.51.100.1"), "ok", "logins keep working");
      } finally {
        await app.close();
        await proxy.close();
        await dropKeys(redisUrl!, prefix);
      }
    });
  }
});

describe("MariaDB compares usernames exactly (NO PAD)", { skip: needs("mysql") }, () => {
  test("'alice ' is not alice: no login as alice, and no fresh guesses against her", async () => {
    await resetDatabase(mysql!);
    const { config: sqlite } = configFile("guess-mysql", []);
    const config: Config = { ...sqlite, database: { ...sqlite.database, dataSource: mysql! } };
    await addTestUsers(config, "alice");
    const app = await startTestApp(config, { only: "user" });
    try {
      const client = createClient(UserService, createConnectTransport({ baseUrl: app.userUrl, httpVersion: "1.1" }));
      const login = (username: string, password: string) => outcome(client.login({ username, password }, { headers: { "x-forwarded-for": "203.0.113.50" } })).then((o) => o.code);
      for (const spelling of ["alice ", "alice   "]) assert.equal(await login(spelling, "alice-password"), "Unauthenticated", JSON.stringify(spelling));
      assert.equal(await login("alice", "alice-password"), "ok");
    } finally {
      await app.close();
    }
  });
});
