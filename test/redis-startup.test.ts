import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { SearchService } from "../src/gen/search/v1/search_pb.js";
import { UserService } from "../src/gen/user/v1/user_pb.js";
import { freePort } from "../scripts/free-port.js";
import { checkRedis, dropKeys, needs, runBookstore, startServerProcess, tempDir, testKeyPrefix, testRedisUrl, testSecret, type ServerProcess } from "./harness.js";
import { exitWithin } from "./held-calls.js";
import { proxyFor } from "./tcp-proxy.js";

// README "When a backend fails": Redis unreachable at start-up -> "the server starts and serves
// from the database, with a warning"; recovery "caching resumes by itself when Redis answers
// (`cache recovered` is logged)".

const dir = tempDir();
after(() => dir.remove());

const secret = testSecret();
const warning = /"level":40,.*"msg":"cache \(Redis\) unreachable at start-up; serving from the database until it answers"/;

before(async () => {
  // the user is added with no Redis configured: only the database knows her
  const added = await runBookstore(["user", "add", "alice", "--name", "Alice"], { cwd: dir.path, env: { ACCESS_SECRET: secret }, stdin: "alice-password\n" });
  assert.equal(added.code, 0, added.stderr);
});

/** Logs in over HTTP/1.1 (Connect) and looks a book up with the token over gRPC. */
async function loginAndSearch(server: ServerProcess): Promise<{ name: string; count: bigint }> {
  const { user, search } = server.ports();
  const users = createClient(UserService, createConnectTransport({ baseUrl: `http://127.0.0.1:${user}`, httpVersion: "1.1" }));
  const login = await users.login({ username: "alice", password: "alice-password" });
  assert.equal(login.name, "Alice");
  const searches = createClient(SearchService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${search}` }));
  const found = await searches.do({ name: "go-zero" }, { headers: { authorization: `Bearer ${login.accessToken}` } });
  return { name: found.name, count: found.count };
}

const count = (text: string, pattern: RegExp) => text.split("\n").filter((l) => pattern.test(l)).length;

describe("Redis unreachable at start-up", () => {
  for (const workers of ["1", "2"]) {
    test(`nothing listens at REDIS_URL (Workers ${workers}): the server starts, warns, and logs in from the database`, { timeout: 120_000 }, async () => {
      const env = { ACCESS_SECRET: secret, USER_PORT: "0", SEARCH_PORT: "0", WORKERS: workers, REDIS_URL: `redis://127.0.0.1:${await freePort()}/0` };
      const ready = workers === "1" ? /"service":"search".*"msg":"listening"/ : /"msg":"worker ready"/;
      const server = await startServerProcess(["serve"], { cwd: dir.path, env, ready, readyCount: Number(workers) });
      try {
        // one per process that opened the storage: each worker, and with workers the primary too (it
        // migrates first); a worker's own output may trail the primary's "worker ready" for it
        const warnings = workers === "1" ? 1 : Number(workers) + 1;
        await server.waitFor(warning, warnings);
        assert.deepEqual(await loginAndSearch(server), { name: "go-zero", count: 100n });
        assert.deepEqual(await loginAndSearch(server), { name: "go-zero", count: 100n }, "and again");
      } finally {
        server.child.kill("SIGTERM");
        assert.deepEqual(await exitWithin(server, 60_000), { code: 0, signal: null });
      }
      assert.equal(count(server.output(), warning), workers === "1" ? 1 : Number(workers) + 1, "one warning per process, not one per call");
      assert.doesNotMatch(server.output(), /"level":50/, "no error logged");
    });
  }
});

const redisUrl = testRedisUrl();

describe("Redis unreachable at start-up, then back (a real Redis behind a proxy)", { skip: needs("redis") }, () => {
  const prefix = testKeyPrefix();
  before(() => checkRedis(redisUrl!));
  after(() => dropKeys(redisUrl!, prefix));

  test("the server starts while the proxy refuses; once Redis answers, the cache recovers by itself", { timeout: 120_000 }, async () => {
    const { proxy, url } = await proxyFor(redisUrl!, 6379);
    proxy.cut();
    const env = { ACCESS_SECRET: secret, USER_PORT: "0", SEARCH_PORT: "0", WORKERS: "1", REDIS_URL: url };
    const server = await startServerProcess(["serve", "-f", writeConfig(prefix)], { cwd: dir.path, env });
    try {
      assert.equal(count(server.output(), warning), 1);
      assert.deepEqual(await loginAndSearch(server), { name: "go-zero", count: 100n });
      proxy.restore();
      // a login reads through the cache: once Redis answers, the user is cached there
      const deadline = Date.now() + 30_000;
      while (!/"msg":"cache recovered"/.test(server.output()) && Date.now() < deadline) {
        await loginAndSearch(server);
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.match(server.output(), /"msg":"cache recovered"/);
      const { Redis } = await import("ioredis");
      const client = new Redis(redisUrl!, { lazyConnect: true, maxRetriesPerRequest: 0 });
      try {
        await client.connect();
        assert.ok((await client.keys(`${prefix}*`)).length > 0, "keys written under the prefix once Redis answered");
      } finally {
        client.disconnect();
      }
    } finally {
      server.child.kill("SIGTERM");
      assert.deepEqual(await exitWithin(server, 60_000), { code: 0, signal: null });
      await proxy.close();
    }
  });
});

function writeConfig(prefix: string): string {
  const file = join(dir.path, `redis-${prefix.replace(/\W/g, "")}.yaml`);
  writeFileSync(file, `CacheRedis:\n  KeyPrefix: "${prefix}"\n`);
  return file;
}
