import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { ConfigError, type Config } from "../src/config.js";
import { SearchService } from "../src/gen/search/v1/search_pb.js";
import { UserService } from "../src/gen/user/v1/user_pb.js";
import { startBookstore } from "../src/main.js";
import { openStorage } from "../src/service-context.js";
import { addUser } from "../src/user/manage-users.js";
import { startTestApp, tempDir, testConfig, testPasswordCost, testSecret } from "./harness.js";

const dir = tempDir();
after(() => dir.remove());

test("rotating the secret: old tokens keep working while PrevAccessSecret names the old one, then stop", async () => {
  const [oldSecret, newSecret] = [testSecret(), testSecret()];
  const base = testConfig(dir.path, { accessSecret: oldSecret });
  const withAuth = (auth: Partial<Config["auth"]>): Config => ({ ...base, auth: { ...base.auth, ...auth } });
  const storage = await openStorage(base, { passwordCost: testPasswordCost });
  await addUser(storage, { username: "alice", password: "alice-password" });
  await storage.close();

  const before = await startTestApp(base);
  const oldToken = (await createClient(UserService, createConnectTransport({ baseUrl: before.userUrl, httpVersion: "1.1" })).login({ username: "alice", password: "alice-password" })).accessToken;
  await before.close();

  const during = await startTestApp(withAuth({ accessSecret: newSecret, prevAccessSecret: oldSecret }), { only: "search" });
  const after = await startTestApp(withAuth({ accessSecret: newSecret }), { only: "search" });
  try {
    const search = (url: string) => createClient(SearchService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
    assert.equal((await search(during.searchUrl).do({ name: "go-zero" }, { headers: { authorization: oldToken } })).count, 100n);
    await assert.rejects(search(after.searchUrl).do({ name: "go-zero" }, { headers: { authorization: oldToken } }), (e) => ConnectError.from(e).code === Code.Unauthenticated);
  } finally {
    await during.close();
    await after.close();
  }
});

test("a weak or unchanged PrevAccessSecret refuses to start", async () => {
  const secret = testSecret();
  const base = testConfig(dir.path, { accessSecret: secret });
  for (const prev of ["short", secret]) {
    await assert.rejects(startBookstore({ ...base, auth: { ...base.auth, prevAccessSecret: prev } }), (e) => e instanceof ConfigError && /PrevAccessSecret/.test(e.message));
  }
});
