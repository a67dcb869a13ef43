import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { SearchService } from "../src/gen/search/v1/search_pb.js";
import { UserService } from "../src/gen/user/v1/user_pb.js";
import { createServiceRoutes } from "../src/routes.js";
import { createServiceContext, type ServiceContext } from "../src/service-context.js";
import { addUser } from "../src/user/manage-users.js";
import { memoryLogger, tempDir, testConfig, testPasswordCost } from "./harness.js";

const dir = tempDir();
let ctx: ServiceContext;
before(async () => {
  ctx = await createServiceContext(testConfig(dir.path), { passwordCost: testPasswordCost, logger: memoryLogger().logger });
  await addUser(ctx, { username: "alice", password: "alice-password" });
});
after(async () => {
  await ctx.close();
  dir.remove();
});

/** The same routes and interceptors a port serves, without a socket. */
function inMemory<T extends typeof UserService | typeof SearchService>(service: T, name: "user" | "search") {
  const { routes, interceptors } = createServiceRoutes(ctx, name);
  return createClient(service, createRouterTransport(routes, { router: { interceptors } }));
}

test("the routes and interceptors work in memory too: login, then Do with and without the token", async () => {
  const users = inMemory(UserService, "user");
  const search = inMemory(SearchService, "search");
  const { accessToken } = await users.login({ username: "alice", password: "alice-password" });
  await assert.rejects(search.do({ name: "go-zero" }), (e) => ConnectError.from(e).code === Code.Unauthenticated);
  assert.equal((await search.do({ name: "go-zero" }, { headers: { authorization: `Bearer ${accessToken}` } })).count, 100n);
  await search.ping({});
});
