import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { SearchService } from "../src/gen/search/v1/search_pb.js";
import { UserService } from "../src/gen/user/v1/user_pb.js";
import { openStorage } from "../src/service-context.js";
import { addUser } from "../src/user/manage-users.js";
import {
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
const code = (p: Promise<unknown>) => p.then(() => "ok", (e) => Code[ConnectError.from(e).code]);

const redisUrl = testRedisUrl();
for (const store of ["in-process", "redis"]) {
  describe(`logout revokes the access token (${store})`, { skip: store === "redis" && needs("redis") }, () => {
    const prefix = testKeyPrefix();
    const config = testConfig(dir.path, { dataSource: `sqlite:${dir.path}/logout-${store}.db`, redisUrl: store === "redis" ? redisUrl : "", keyPrefix: prefix });
    const apps: Awaited<ReturnType<typeof startTestApp>>[] = [];
    before(async () => {
      if (store === "redis") await checkRedis(redisUrl!);
      const storage = await openStorage(config, { passwordCost: testPasswordCost });
      await addUser(storage, { username: "alice", password: "alice-password" });
      await storage.close();
      apps.push(await startTestApp(config));
      if (store === "redis") apps.push(await startTestApp(config)); // a second instance sharing the Redis
    });
    after(async () => {
      for (const a of apps) await a.close();
      if (store === "redis") await dropKeys(redisUrl!, prefix);
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
      const metrics = await (await fetch(`${apps[0]!.searchUrl}/metrics`)).text();
      assert.match(metrics, /auth_failures_total\{reason="revoked"\} [1-9]/);
    });
  });
}
