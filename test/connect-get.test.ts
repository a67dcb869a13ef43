import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { authFailureOf } from "protogate";
import { SearchService } from "../src/gen/search/v1/search_pb.js";
import { UserService } from "../src/gen/user/v1/user_pb.js";
import { addTestUsers, memoryLogger, startTestApp, tempDir, testConfig } from "./harness.js";

// Do and Ping are NO_SIDE_EFFECTS in the proto: Connect serves them with GET too (browsers,
// caches, a link), and auth works on a GET exactly as on a POST.
describe("Connect GET for the methods without side effects", () => {
  const dir = tempDir();
  const config = testConfig(dir.path);
  const { logger, lines } = memoryLogger();
  let app: Awaited<ReturnType<typeof startTestApp>>;
  let token: string;
  before(async () => {
    await addTestUsers(config, "gus");
    app = await startTestApp(config, { logger });
    token = (await createClient(UserService, createConnectTransport({ baseUrl: app.userUrl, httpVersion: "1.1" })).login({ username: "gus", password: "gus-password" })).accessToken;
  });
  after(async () => {
    await app.close();
    dir.remove();
  });
  const get = (method: string, message: string, headers: Record<string, string> = {}) =>
    fetch(`${app.searchUrl}/search.v1.SearchService/${method}?connect=v1&encoding=json&message=${encodeURIComponent(message)}`, { headers });

  test("a plain GET: Ping without a token, Do with one; without one Do is refused as a POST is", async () => {
    const ping = await get("Ping", "{}");
    assert.deepEqual([ping.status, await ping.text()], [200, "{}"]);
    const found = await get("Do", '{"name":"go-zero"}', { authorization: `Bearer ${token}` });
    assert.equal(found.status, 200);
    assert.deepEqual(await found.json(), { name: "go-zero", count: "100" });
    const denied = await get("Do", '{"name":"go-zero"}');
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get("www-authenticate"), 'Bearer realm="bookstore"');
    assert.equal(((await denied.json()) as { code: string }).code, "unauthenticated");
  });

  test("the generated client with useHttpGet sends GETs, and they are served", async () => {
    const before = lines.length;
    const search = createClient(SearchService, createConnectTransport({ baseUrl: app.searchUrl, httpVersion: "1.1", useHttpGet: true }));
    assert.equal((await search.do({ name: "go-zero" }, { headers: { authorization: `Bearer ${token}` } })).count, 100n);
    await search.ping({});
    const refused = await search.do({ name: "go-zero" }).then(() => undefined, (e: unknown) => e);
    assert.equal(authFailureOf(refused), "TOKEN_MISSING");
    const calls = lines.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === "rpc");
    assert.deepEqual(
      calls.map((l) => [l.method, l.code, l.httpMethod]),
      [
        ["search.v1.SearchService/Do", "ok", "GET"],
        ["search.v1.SearchService/Ping", "ok", "GET"],
        ["search.v1.SearchService/Do", "unauthenticated", "GET"],
      ],
    );
  });
});
