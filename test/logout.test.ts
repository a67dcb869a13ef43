import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
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
  startTestApp,
  tempDir,
  testConfig,
  testKeyPrefix,
  testMysqlUrl,
  testPasswordCost,
  testRedisUrl,
} from "./harness.js";

const dir = tempDir();
after(() => dir.remove());
const code = callCode;

const redisUrl = testRedisUrl();
const mysqlUrl = testMysqlUrl();
for (const store of ["in-process", "redis", "mysql+redis"] as const) {
  const skip = store === "in-process" ? false : store === "redis" ? needs("redis") : needs("mysql", "redis");
  describe(`logout revokes the access token (${store})`, { skip }, () => {
    const prefix = testKeyPrefix();
    const dataSource = store === "mysql+redis" ? (mysqlUrl ?? "") : `sqlite:${dir.path}/logout-${store}.db`;
    const config = testConfig(dir.path, { dataSource, redisUrl: store === "in-process" ? "" : redisUrl, keyPrefix: prefix });
    const apps: Awaited<ReturnType<typeof startTestApp>>[] = [];
    const logs: ReturnType<typeof memoryLogger>[] = [];
    before(async () => {
      if (store !== "in-process") await checkRedis(redisUrl!);
      await resetDatabase(dataSource);
      const storage = await openStorage(config, { passwordCost: testPasswordCost });
      await addUser(storage, { username: "alice", password: "alice-password" });
      await storage.close();
      logs.push(memoryLogger());
      apps.push(await startTestApp(config, { logger: logs[0]!.logger }));
      if (store !== "in-process") {
        logs.push(memoryLogger());
        apps.push(await startTestApp(config, { logger: logs[1]!.logger })); // a second instance sharing the Redis (and the database)
      }
    });
    after(async () => {
      for (const a of apps) await a.close();
      if (store !== "in-process") await dropKeys(redisUrl!, prefix);
      await resetDatabase(dataSource);
    });

    test("after Logout the token is refused at once, on every instance; other tokens still work", async () => {
      const users = createClient(UserService, createConnectTransport({ baseUrl: apps[0]!.userUrl, httpVersion: "1.1" }));
      const [a, b] = [await users.login({ username: "alice", password: "alice-password" }), await users.login({ username: "alice", password: "alice-password" })];
      const auth = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });
      const searches = apps.map((app) => createClient(SearchService, createGrpcTransport({ baseUrl: app.searchUrl })));
      for (const s of searches) assert.equal(await code(s.do({ name: "go-zero" }, auth(a.accessToken))), "ok");
      assert.equal(await code(users.logout({})), "Unauthenticated", "logout needs the token");
      assert.equal(await code(users.logout({}, auth(a.accessToken))), "ok");
      for (const s of searches) assert.equal(await code(s.do({ name: "go-zero" }, auth(a.accessToken))), "Unauthenticated");
      assert.equal(await code(users.logout({}, auth(a.accessToken))), "Unauthenticated");
      for (const s of searches) assert.equal(await code(s.do({ name: "go-zero" }, auth(b.accessToken))), "ok", "only the logged-out token");
    });

    test("every later call with a logged-out session's tokens is unauthenticated, logged and counted with reason revoked", async () => {
      const users = createClient(UserService, createConnectTransport({ baseUrl: apps[0]!.userUrl, httpVersion: "1.1" }));
      const auth = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });
      const first = await users.login({ username: "alice", password: "alice-password" });
      // a second access token of the same session (same sid, another jti)
      const renewed = await users.refresh({ refreshToken: first.refreshToken });
      const revokedCount = async (i: number) => {
        const m = /^auth_failures_total\{reason="revoked"\} (\d+)$/m.exec(await (await fetch(`${apps[i]!.searchUrl}/metrics`)).text());
        return m === null ? 0 : Number(m[1]);
      };
      const before = await Promise.all(apps.map((_, i) => revokedCount(i)));
      const linesBefore = logs.map((l) => l.lines.length);
      const grpc = apps.map((app) => createClient(SearchService, createGrpcTransport({ baseUrl: app.searchUrl })));
      const connect = apps.map((app) => createClient(SearchService, createConnectTransport({ baseUrl: app.searchUrl, httpVersion: "1.1" })));
      for (const s of grpc) assert.equal(await code(s.do({ name: "go-zero" }, auth(renewed.accessToken))), "ok", "verified (and cached) before the logout");
      assert.equal(await code(users.logout({}, auth(renewed.accessToken))), "ok");

      for (let i = 0; i < apps.length; i++) {
        for (const token of [renewed.accessToken, first.accessToken]) {
          assert.equal(await code(grpc[i]!.do({ name: "go-zero" }, auth(token))), "Unauthenticated", `instance ${i}, gRPC`);
          assert.equal(await code(connect[i]!.do({ name: "go-zero" }, auth(token))), "Unauthenticated", `instance ${i}, Connect`);
        }
      }
      assert.equal(await code(users.logout({}, auth(renewed.accessToken))), "Unauthenticated", "the user port refuses it too");
      assert.equal(await code(users.refresh({ refreshToken: renewed.refreshToken })), "Unauthenticated", "the session's refresh token stops working");

      // four refusals per instance on the search port, one more on instance 0's user port
      const after = await Promise.all(apps.map((_, i) => revokedCount(i)));
      assert.deepEqual(after.map((n, i) => n - before[i]!), apps.map((_, i) => (i === 0 ? 5 : 4)));
      for (let i = 0; i < apps.length; i++) {
        const lines = logs[i]!.lines.slice(linesBefore[i]).map((l) => JSON.parse(l) as Record<string, unknown>);
        const rejected = lines.filter((l) => l.msg === "access token rejected");
        assert.equal(rejected.length, i === 0 ? 5 : 4, `instance ${i}: ${JSON.stringify(rejected)}`);
        for (const r of rejected) {
          assert.equal(r.reason, "revoked");
          assert.match(String(r.tokenTag), /^[A-Za-z0-9_-]{12}$/);
        }
        assert.deepEqual(
          rejected.map((r) => r.method),
          [...Array(4).fill("search.v1.SearchService/Do"), ...(i === 0 ? ["user.v1.UserService/Logout"] : [])],
        );
        const refusedCalls = lines.filter((l) => l.msg === "rpc" && l.code === "unauthenticated" && l.method === "search.v1.SearchService/Do");
        assert.equal(refusedCalls.length, 4, `instance ${i}: the access log records each refused call`);
        const text = logs[i]!.lines.join("\n");
        for (const t of [first.accessToken, renewed.accessToken]) assert.ok(!text.includes(t.split(".")[2]!), "no token in the log");
      }
    });
  });
}
