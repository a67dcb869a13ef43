import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import type { Config } from "../src/config.js";
import { UserService } from "../src/gen/user/v1/user_pb.js";
import { openStorage } from "../src/service-context.js";
import { addUser } from "../src/user/manage-users.js";
import {
  callOutcome as outcome,
  checkRedis,
  dropKeys,
  needs,
  startTestApp,
  tempDir,
  testConfig,
  testKeyPrefix,
  testPasswordCost,
  testRedisUrl,
} from "./harness.js";

const dir = tempDir();
after(() => dir.remove());

const redisUrl = testRedisUrl();
for (const store of ["in-process", "redis"]) {
  describe(`login brute-force limits (${store})`, { skip: store === "redis" && needs("redis") }, () => {
    const prefix = testKeyPrefix();
    const base = testConfig(dir.path, { dataSource: `sqlite:${dir.path}/limits-${store}.db`, redisUrl: store === "redis" ? redisUrl : "", keyPrefix: prefix });
    const config: Config = { ...base, loginLimits: { maxFailuresPerUser: 3, maxAttemptsPerAddress: 25, slowdownAfter: 100, maxDelaySeconds: 60, windowSeconds: 60 } };
    const apps: Awaited<ReturnType<typeof startTestApp>>[] = [];
    before(async () => {
      if (store === "redis") await checkRedis(redisUrl!);
      const storage = await openStorage(config, { passwordCost: testPasswordCost });
      for (const u of ["alice", "bob", "carol"]) await addUser(storage, { username: u, password: `${u}-password` });
      await storage.close();
      apps.push(await startTestApp(config, { only: "user" }));
      // with Redis the counters are shared: a second instance counts into the same limits
      if (store === "redis") apps.push(await startTestApp(config, { only: "user" }));
    });
    after(async () => {
      for (const a of apps) await a.close();
      if (store === "redis") await dropKeys(redisUrl!, prefix);
    });
    const client = (i: number) => createClient(UserService, createConnectTransport({ baseUrl: apps[i % apps.length]!.userUrl, httpVersion: "1.1" }));

    test("a username is locked after MaxFailuresPerUser failures, even for the right password, with a retry-after", async () => {
      for (let i = 0; i < 3; i++) assert.equal((await outcome(client(i).login({ username: "alice", password: "wrong-password" }))).code, "Unauthenticated");
      const locked = await outcome(client(3).login({ username: "alice", password: "alice-password" }));
      assert.equal(locked.code, "ResourceExhausted");
      assert.ok(locked.retryAfter! > 0 && locked.retryAfter! <= 60, `retry-after ${locked.retryAfter}`);
      const grpc = await outcome(createClient(UserService, createGrpcTransport({ baseUrl: apps[0]!.userUrl })).login({ username: "alice", password: "alice-password" }));
      assert.equal(grpc.code, "ResourceExhausted", "the same over gRPC");
      assert.equal((await outcome(client(0).login({ username: "bob", password: "bob-password" }))).code, "ok", "other users are not affected");
    });

    test("a successful login clears the username's failures", async () => {
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 2; i++) assert.equal((await outcome(client(i).login({ username: "carol", password: "nope-nope" }))).code, "Unauthenticated");
        assert.equal((await outcome(client(round).login({ username: "carol", password: "carol-password" }))).code, "ok");
      }
    });

    test("an address is refused after MaxAttemptsPerAddress attempts in the window", async () => {
      const results: string[] = [];
      for (let i = 0; i < 30; i++) results.push((await outcome(client(i).login({ username: `nobody-${i}`, password: "whatever-pw" }))).code);
      assert.ok(results.includes("ResourceExhausted"), "the address limit was reached");
      assert.equal(results.at(-1), "ResourceExhausted");
    });
  });
}

describe("client addresses behind a trusted proxy (X-Forwarded-For)", () => {
  const base = testConfig(dir.path, { dataSource: `sqlite:${dir.path}/limits-proxy.db` });
  const limits = { maxFailuresPerUser: 100, maxAttemptsPerAddress: 3, slowdownAfter: 1000, maxDelaySeconds: 60, windowSeconds: 60 };
  const behindProxy: Config = { ...base, loginLimits: limits, trustedProxies: ["127.0.0.1", "::1", "10.0.0.0/8"] };
  const direct: Config = { ...base, loginLimits: limits };
  const apps: Awaited<ReturnType<typeof startTestApp>>[] = [];
  before(async () => {
    const storage = await openStorage(base, { passwordCost: testPasswordCost });
    await addUser(storage, { username: "alice", password: "alice-password" });
    await storage.close();
    apps.push(await startTestApp(behindProxy, { only: "user" }), await startTestApp(direct, { only: "user" }));
  });
  after(async () => {
    for (const a of apps) await a.close();
  });
  const attempt = (app: number, xff?: string) =>
    outcome(
      createClient(UserService, createConnectTransport({ baseUrl: apps[app]!.userUrl, httpVersion: "1.1" })).login(
        { username: "alice", password: "wrong-password" },
        { headers: xff === undefined ? {} : { "x-forwarded-for": xff } },
      ),
    ).then((o) => o.code);

  test("each forwarded client is counted on its own; trusted hops are skipped", async () => {
    for (let i = 0; i < 3; i++) assert.equal(await attempt(0, "203.0.113.1"), "Unauthenticated");
    assert.equal(await attempt(0, "203.0.113.1"), "ResourceExhausted");
    assert.equal(await attempt(0, "203.0.113.1, 10.1.2.3"), "ResourceExhausted", "through a second trusted proxy: the same client");
    assert.equal(await attempt(0, "198.51.100.9, 203.0.113.2"), "Unauthenticated", "another client (the untrusted hop nearest the proxy)");
  });

  test("a client cannot pick its address: from an untrusted peer the header is ignored", async () => {
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push(await attempt(1, `192.0.2.${i}`));
    assert.deepEqual(codes, ["Unauthenticated", "Unauthenticated", "Unauthenticated", "ResourceExhausted"]);
  });

  test("a malformed hop ends the walk at the last good address", async () => {
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push(await attempt(0, `192.0.2.${i}, not-an-address`));
    assert.deepEqual(codes, ["Unauthenticated", "Unauthenticated", "Unauthenticated", "ResourceExhausted"], "all counted as the proxy itself");
  });
});
