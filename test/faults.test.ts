import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Redis } from "ioredis";
import { SearchService } from "../src/gen/search/v1/search_pb.js";
import { UserService } from "../src/gen/user/v1/user_pb.js";
import { openStorage } from "../src/service-context.js";
import { usernameKey } from "../src/user/cached-user-store.js";
import { addUser } from "../src/user/manage-users.js";
import {
  checkRedis,
  dropKeys,
  memoryLogger,
  needs,
  resetDatabase,
  startTestApp,
  tempDir,
  testConfig,
  testDataSources,
  testKeyPrefix,
  testMysqlUrl,
  testPasswordCost,
  testRedisUrl,
} from "./harness.js";
import { proxyFor, type TcpProxy } from "./tcp-proxy.js";

const dir = tempDir();
after(() => dir.remove());

async function timed<T>(p: Promise<T>): Promise<{ ms: number; result?: T; error?: ConnectError }> {
  const t = performance.now();
  try {
    const result = await p;
    return { ms: performance.now() - t, result };
  } catch (err) {
    return { ms: performance.now() - t, error: ConnectError.from(err) };
  }
}

async function eventually(what: string, check: () => Promise<boolean>, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  assert.fail(`${what} did not happen within ${ms} ms`);
}

/**
 * How many of `logins`, run one after another while Redis does not answer, paid a Redis timeout
 * (took at least half a CommandTimeout), and how many could have: each of the two fail-open
 * backends a login touches (the cache and the login limiter) lets one call through to probe Redis
 * per `retryAfterMs` (1 s) of the outage, and skips Redis otherwise. Counted, not timed: a slow
 * machine makes the run longer, which allows more probes, never fewer.
 */
async function slowLogins(logins: (() => Promise<unknown>)[], commandTimeoutMs: number): Promise<{ slow: number; allowed: number; times: number[] }> {
  const started = performance.now();
  // the baseline: a CommandTimeout timer started with the first login, in this process (the server's
  // too), so it is as late as the server's own timers are on a busy machine
  const baseline = sleep(commandTimeoutMs).then(() => performance.now() - started);
  const times: number[] = [];
  for (const [i, next] of logins.entries()) {
    const r = await timed(next());
    assert.equal(r.error, undefined, `login ${i} during the outage: ${r.error?.message}`);
    times.push(Math.round(r.ms));
  }
  const windows = 1 + Math.floor((performance.now() - started) / 1000);
  // a login waits for at most one timeout of each backend: the cache's and the login limiter's
  const bound = 3 * (await baseline);
  assert.ok(Math.max(...times) < bound, `a login waited past the command timeouts (${Math.round(bound)} ms): ${times.join(", ")} ms`);
  return { slow: times.filter((ms) => ms >= commandTimeoutMs / 2).length, allowed: 2 * windows, times };
}

const redisUrl = testRedisUrl();

for (const { dialect, dataSource } of testDataSources(dir.path)) {
  describe(`Redis faults (${dialect})`, { skip: needs(...(dialect === "mysql" ? (["mysql", "redis"] as const) : (["redis"] as const))) }, () => {
    const prefix = testKeyPrefix();
    const { logger, lines } = memoryLogger();
    const messages = (msg: string) => lines.filter((l) => JSON.parse(l).msg === msg).length;
    let proxy: TcpProxy;
    let redis: Redis;
    let app: Awaited<ReturnType<typeof startTestApp>>;
    let users: ReturnType<typeof createClient<typeof UserService>>;
    let commandTimeoutMs: number;

    before(async () => {
      await checkRedis(redisUrl!);
      redis = new Redis(redisUrl!, { keyPrefix: prefix });
      const through = await proxyFor(redisUrl!, 6379);
      proxy = through.proxy;
      await resetDatabase(dataSource);
      const config = testConfig(dir.path, { dataSource: dialect === "sqlite" ? `sqlite:${dir.path}/redis-faults.db` : dataSource, redisUrl: through.url, keyPrefix: prefix });
      commandTimeoutMs = config.cacheRedis.commandTimeoutMs;
      const storage = await openStorage(config, { passwordCost: testPasswordCost, logger });
      for (const name of ["alice", "bob"]) await addUser(storage, { username: name, password: `${name}-password` });
      await storage.close();
      app = await startTestApp(config, { logger });
      users = createClient(UserService, createConnectTransport({ baseUrl: app.userUrl, httpVersion: "1.1" }));
    });
    after(async () => {
      await app?.close();
      await proxy?.close();
      redis?.disconnect();
      if (redisUrl) await dropKeys(redisUrl, prefix);
    });

    test("Redis unreachable: logins go straight to the database, one warning per outage, then caching resumes", async () => {
      await users.login({ username: "alice", password: "alice-password" });
      assert.notEqual(await redis.get(usernameKey("alice")), null, "cached while Redis is up");

      proxy.cut();
      const logins = Array.from({ length: 8 }, (_, i) => () => users.login({ username: i % 2 ? "alice" : "bob", password: i % 2 ? "alice-password" : "bob-password" }));
      const { slow, allowed, times } = await slowLogins(logins, commandTimeoutMs);
      assert.ok(slow <= allowed && slow < logins.length, `${slow} logins waited for Redis (${allowed} probes allowed): ${times.join(", ")} ms`);
      assert.equal(messages("cache unavailable; serving from the database"), 1);

      await redis.del(usernameKey("bob"));
      proxy.restore();
      await eventually("caching resumes", async () => {
        await users.login({ username: "bob", password: "bob-password" });
        return (await redis.get(usernameKey("bob"))) !== null;
      });
      assert.equal(messages("cache recovered"), 1);
    });

    test("Redis hung: logins still answer, bounded by the command timeout", async () => {
      const outages = messages("cache unavailable; serving from the database");
      proxy.stall();
      const logins = Array.from({ length: 8 }, () => () => users.login({ username: "bob", password: "bob-password" }));
      const { slow, allowed, times } = await slowLogins(logins, commandTimeoutMs);
      // without the back-off every login would wait a CommandTimeout; without the timeout the first would hang
      assert.ok(slow >= 1, `the first login waited for the hung Redis: ${times.join(", ")} ms`);
      assert.ok(slow <= allowed && slow < logins.length, `${slow} logins waited for Redis (${allowed} probes allowed): ${times.join(", ")} ms`);
      assert.equal(messages("cache unavailable; serving from the database"), outages + 1, "an outage, logged once");
      proxy.restore();
      await eventually("caching resumes", async () => {
        await redis.del(usernameKey("alice"));
        await users.login({ username: "alice", password: "alice-password" });
        return (await redis.get(usernameKey("alice"))) !== null;
      });
    });
  });
}

const mysqlUrl = testMysqlUrl();

describe("database faults (MySQL)", { skip: needs("mysql") }, () => {
  const { logger } = memoryLogger();
  let proxy: TcpProxy;
  let app: Awaited<ReturnType<typeof startTestApp>>;
  let users: ReturnType<typeof createClient<typeof UserService>>;
  let search: ReturnType<typeof createClient<typeof SearchService>>;
  let queryTimeoutMs: number;

  before(async () => {
    await resetDatabase(mysqlUrl!);
    const through = await proxyFor(mysqlUrl!, 3306);
    proxy = through.proxy;
    const config = testConfig(dir.path, { dataSource: through.url });
    queryTimeoutMs = config.database.queryTimeoutMs;
    const storage = await openStorage(config, { passwordCost: testPasswordCost });
    for (const name of ["alice", "dave", "erin"]) await addUser(storage, { username: name, password: `${name}-password` });
    await storage.close();
    app = await startTestApp(config, { logger });
    users = createClient(UserService, createConnectTransport({ baseUrl: app.userUrl, httpVersion: "1.1" }));
    search = createClient(SearchService, createConnectTransport({ baseUrl: app.searchUrl, httpVersion: "1.1" }));
  });
  after(async () => {
    await app?.close();
    await proxy?.close();
  });

  test("database down: Login is unavailable (503) fast, auth checks keep working, and it recovers", async () => {
    const { accessToken } = await users.login({ username: "alice", password: "alice-password" });
    const auth = { headers: { authorization: accessToken } };

    proxy.cut();
    const cold = await timed(users.login({ username: "dave", password: "dave-password" }));
    assert.equal(cold.error?.code, Code.Unavailable);
    // "at once": a refused connection, not a wait for QueryTimeout (the only deadline that could answer it)
    assert.ok(cold.ms < queryTimeoutMs / 2, `took ${cold.ms} ms, QueryTimeout is ${queryTimeoutMs} ms`);
    const res = await fetch(`${app.userUrl}/user.v1.UserService/Login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "erin", password: "erin-password" }),
    });
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { code: "unavailable", message: "service unavailable, try again later" });

    // no database is needed to check a token
    await search.ping({});
    const denied = await timed(search.do({ name: "go-zero" }, { headers: { authorization: "Bearer nope" } }));
    assert.equal(denied.error?.code, Code.Unauthenticated);
    const lookup = await timed(search.do({ name: "go-zero" }, auth));
    assert.equal(lookup.error?.code, Code.Unavailable, "the token passed; the book lookup needs the database");
    // a user in the cache can still log in: an access token, but no session to refresh
    const degraded = await users.login({ username: "alice", password: "alice-password" });
    assert.equal(degraded.refreshToken, "");
    const withDegraded = await timed(search.do({ name: "go-zero" }, { headers: { authorization: degraded.accessToken } }));
    assert.equal(withDegraded.error?.code, Code.Unavailable, "the degraded token is accepted; only the lookup fails");

    proxy.restore();
    await eventually("Login works again", async () => (await timed(users.login({ username: "dave", password: "dave-password" }))).error === undefined);
    assert.equal((await search.do({ name: "go-zero" }, auth)).count, 100n);
  });

  test("database hung: Login is unavailable within the query deadline (about 2 s)", async () => {
    proxy.stall();
    // the baseline: a timer of QueryTimeout started with the call, in this process (the server's too),
    // so it is as late as the server's deadline is on a busy machine
    const started = performance.now();
    const baseline = sleep(queryTimeoutMs).then(() => performance.now() - started);
    const r = await timed(users.login({ username: "erin", password: "erin-password" }));
    const deadline = await baseline;
    assert.equal(r.error?.code, Code.Unavailable);
    assert.ok(r.ms >= 0.75 * queryTimeoutMs, `took ${r.ms} ms, before QueryTimeout (${queryTimeoutMs} ms)`);
    assert.ok(r.ms < deadline + queryTimeoutMs / 2, `took ${r.ms} ms; a ${queryTimeoutMs} ms timer took ${deadline} ms`);
    proxy.restore();
    await eventually("Login works again", async () => (await timed(users.login({ username: "erin", password: "erin-password" }))).error === undefined);
  });
});
