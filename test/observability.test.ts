import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { SearchService } from "../src/gen/search/v1/search_pb.js";
import { UserService } from "../src/gen/user/v1/user_pb.js";
import { openStorage } from "../src/service-context.js";
import { addUser } from "../src/user/manage-users.js";
import { memoryLogger, startTestApp, tempDir, testConfig, testPasswordCost } from "./harness.js";

describe("access log and Prometheus metrics", () => {
  const dir = tempDir();
  const config = testConfig(dir.path);
  const { logger, lines } = memoryLogger();
  let app: Awaited<ReturnType<typeof startTestApp>>;
  before(async () => {
    const storage = await openStorage(config, { passwordCost: testPasswordCost });
    await addUser(storage, { username: "alice", password: "alice-password" });
    await storage.close();
    app = await startTestApp(config, { logger });
  });
  after(async () => {
    await app.close();
    dir.remove();
  });
  const rpcLines = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === "rpc");

  test("one line per call: method, protocol, code, duration, userId, request id; never the token", async () => {
    const users = createClient(UserService, createConnectTransport({ baseUrl: app.userUrl, httpVersion: "1.1" }));
    const search = createClient(SearchService, createGrpcTransport({ baseUrl: app.searchUrl }));
    const before = rpcLines().length;
    const { accessToken } = await users.login({ username: "alice", password: "alice-password" });
    let requestId: string | null = null;
    await search.do({ name: "go-zero" }, { headers: { authorization: accessToken, "x-request-id": "req-42" }, onHeader: (h) => (requestId = h.get("x-request-id")) });
    await assert.rejects(search.do({ name: "go-zero" }), (err) => ConnectError.from(err).metadata.get("x-request-id") !== null);
    const logged = rpcLines().slice(before);
    assert.equal(logged.length, 3);
    const [login, found, denied] = logged as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
    assert.deepEqual([login.method, login.protocol, login.code, login.userId], ["user.v1.UserService/Login", "connect", "ok", undefined]);
    assert.deepEqual([found.method, found.protocol, found.code, found.requestId], ["search.v1.SearchService/Do", "grpc", "ok", "req-42"]);
    assert.equal(typeof found.userId, "number");
    assert.equal(requestId, "req-42");
    assert.deepEqual([denied.code, denied.userId], ["unauthenticated", undefined]);
    assert.match(String(denied.requestId), /^[0-9a-f-]{36}$/);
    for (const l of logged) assert.equal(typeof l.ms, "number");
    assert.ok(!lines.join("\n").includes(accessToken));
  });

  test("GET /metrics on each port: calls, latency, auth failures by reason, cache hits and misses, logins", async () => {
    const users = createClient(UserService, createConnectTransport({ baseUrl: app.userUrl, httpVersion: "1.1" }));
    await users.login({ username: "alice", password: "alice-password" }); // a cache hit now
    await assert.rejects(users.login({ username: "alice", password: "nope-nope" }), (e) => ConnectError.from(e).code === Code.Unauthenticated);
    // the login limit (5 failures per username and address), and a field rule
    for (let i = 0; i < 5; i++) {
      await assert.rejects(users.login({ username: "mallory", password: `guess-${i}` }), (e) => ConnectError.from(e).code === Code.Unauthenticated);
    }
    await assert.rejects(users.login({ username: "mallory", password: "guess-5" }), (e) => ConnectError.from(e).code === Code.ResourceExhausted);
    await assert.rejects(users.login({ username: "alice", password: "x".repeat(1025) }), (e) => ConnectError.from(e).code === Code.InvalidArgument);
    const search = createClient(SearchService, createConnectTransport({ baseUrl: app.searchUrl, httpVersion: "1.1" }));
    await assert.rejects(search.do({ name: "x" }, { headers: { authorization: "Bearer a.b.c" } }));

    const text = async (url: string) => {
      const res = await fetch(`${url}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type")!, /^text\/plain/);
      return res.text();
    };
    const m = await text(app.userUrl);
    assert.match(m, /rpc_requests_total\{method="user\.v1\.UserService\/Login",code="ok"\} [2-9]/);
    assert.match(m, /rpc_request_duration_seconds_bucket\{le="[0-9.]+",method="user\.v1\.UserService\/Login"\}/);
    assert.match(m, /login_total\{outcome="success"\} [2-9]/);
    assert.match(m, /login_total\{outcome="bad_credentials"\} 6\n/);
    assert.match(m, /login_total\{outcome="limited"\} 1\n/);
    assert.match(m, /login_total\{outcome="invalid_argument"\} 1\n/);
    assert.match(m, /user_cache_lookups_total\{result="miss"\} 2\n/); // alice, then mallory once (remembered as unknown)
    assert.match(m, /user_cache_lookups_total\{result="hit"\} [2-9]/);
    assert.match(m, /auth_failures_total\{reason="missing"\} 1/);
    assert.match(m, /auth_failures_total\{reason="malformed"\} 1/);
    assert.match(m, /process_cpu_user_seconds_total/);
    assert.match(await text(app.searchUrl), /rpc_requests_total\{method="search\.v1\.SearchService\/Do",code="unauthenticated"\} 2/);
  });
});
