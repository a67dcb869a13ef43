import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import { after, before, describe, test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-node";
import { SearchService } from "../src/gen/search/v1/search_pb.js";
import { UserService } from "../src/gen/user/v1/user_pb.js";
import {
  addTestUsers,
  checkRedis,
  dropKeys,
  memoryLogger,
  needs,
  startServerProcess,
  startTestApp,
  tempDir,
  testConfig,
  testKeyPrefix,
  testRedisUrl,
  testSecret,
} from "./harness.js";
import { recordSpans } from "./spans.js";

// Spans per call through @opentelemetry/api, seen by an in-memory exporter registered here as a
// user's SDK would be; and the OTLP exporter that the OTEL_* variables switch on, seen by a
// collector stand-in.

const exporter = recordSpans();

const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
const callerSpanId = "00f067aa0ba902b7";

const childrenOf = (parent: ReadableSpan, spans: ReadableSpan[]) => spans.filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);

for (const cache of ["in-process", "redis"] as const) {
  describe(`tracing (${cache} cache)`, { skip: cache === "redis" && needs("redis") }, () => {
    const dir = tempDir();
    const prefix = testKeyPrefix();
    const redisUrl = cache === "redis" ? testRedisUrl()! : "";
    const config = testConfig(dir.path, { redisUrl, keyPrefix: prefix });
    const logs = memoryLogger();
    let app: Awaited<ReturnType<typeof startTestApp>>;
    before(async () => {
      if (redisUrl) await checkRedis(redisUrl);
      await addTestUsers(config, "alice");
      app = await startTestApp({ ...config, log: { ...config.log, level: "info" } }, { logger: logs.logger });
    });
    after(async () => {
      await app.close();
      if (redisUrl) await dropKeys(redisUrl, prefix);
      dir.remove();
    });

    test("a span per call, a child of the caller's traceparent, with the database, cache and hashing under it", async () => {
      exporter.reset();
      const users = createClient(UserService, createConnectTransport({ baseUrl: app.userUrl, httpVersion: "1.1" }));
      const search = createClient(SearchService, createGrpcTransport({ baseUrl: app.searchUrl }));
      const login = await users.login({ username: "alice", password: "alice-password" });
      const traceparent = `00-${traceId}-${callerSpanId}-01`;
      await search.do({ name: "go-zero" }, { headers: { authorization: `Bearer ${login.accessToken}`, traceparent } });
      await assert.rejects(search.do({ name: "go-zero" }, { headers: { authorization: "Bearer a.b.c" } }));

      const spans = exporter.getFinishedSpans();
      const named = (name: string) => spans.filter((s) => s.name === name);
      const [loginSpan] = named("user.v1.UserService/Login");
      assert.ok(loginSpan, `spans: ${spans.map((s) => s.name).join(", ")}`);
      assert.deepEqual(loginSpan.attributes, { "rpc.system": "connect_rpc", "rpc.service": "user.v1.UserService", "rpc.method": "Login" });
      const underLogin = childrenOf(loginSpan, spans).map((s) => s.name);
      assert.ok(underLogin.includes("password.verify"), `under Login: ${underLogin.join(", ")}`);
      assert.ok(underLogin.includes("db sqlite"), `under Login: ${underLogin.join(", ")}`);
      if (cache === "redis") assert.ok(underLogin.some((n) => n.startsWith("redis ")), `under Login: ${underLogin.join(", ")}`);

      const [ok, refused] = named("search.v1.SearchService/Do");
      assert.ok(ok && refused);
      assert.equal(ok.spanContext().traceId, traceId, "the caller's trace");
      assert.equal(ok.parentSpanContext?.spanId, callerSpanId, "the caller's span is the parent");
      assert.deepEqual(ok.attributes, {
        "rpc.system": "grpc",
        "rpc.service": "search.v1.SearchService",
        "rpc.method": "Do",
        "rpc.grpc.status_code": 0,
        "enduser.id": String(login.id),
      });
      assert.deepEqual([refused.attributes["rpc.grpc.status_code"], refused.attributes["enduser.id"], refused.status.message], [16, undefined, "unauthenticated"]);
      assert.notEqual(refused.spanContext().traceId, traceId, "a call without traceparent starts its own trace");
      for (const s of spans) assert.ok(!JSON.stringify(s.attributes).includes(login.accessToken), `${s.name} carries no token`);

      const line = logs.lines.map((l) => JSON.parse(l)).find((l) => l.msg === "rpc" && l.method === "search.v1.SearchService/Do" && l.code === "ok");
      assert.equal(line?.traceId, traceId, "the access log line carries the trace id");
    });
  });
}

describe("OTLP export switched on by the OTEL_* variables", () => {
  const dir = tempDir();
  const received: { path: string; type: string; body: Buffer }[] = [];
  const collector = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c)).on("end", () => {
      received.push({ path: req.url ?? "", type: req.headers["content-type"] ?? "", body: Buffer.concat(chunks) });
      res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    });
  });
  before(() => new Promise<void>((r) => collector.listen(0, "127.0.0.1", r)));
  after(() => {
    collector.close();
    dir.remove();
  });

  test("bookstore serve with OTEL_EXPORTER_OTLP_ENDPOINT sends its spans to it, named by OTEL_SERVICE_NAME", async () => {
    const port = (collector.address() as { port: number }).port;
    const server = await startServerProcess(["serve", "--only", "search"], {
      cwd: dir.path,
      env: {
        ACCESS_SECRET: testSecret(),
        SEARCH_PORT: "0",
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        OTEL_SERVICE_NAME: "bookstore-under-test",
        OTEL_BSP_SCHEDULE_DELAY: "50",
      },
      ready: /"msg":"listening"/,
    });
    try {
      const search = createClient(SearchService, createConnectTransport({ baseUrl: `http://127.0.0.1:${server.ports().search}`, httpVersion: "1.1" }));
      await search.ping({});
      const deadline = Date.now() + 10_000;
      while (!received.some((r) => r.body.includes("search.v1.SearchService/Ping")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const sent = received.find((r) => r.body.includes("search.v1.SearchService/Ping"));
      assert.ok(sent, `the collector got ${received.length} request(s)`);
      assert.deepEqual([sent.path, sent.type], ["/v1/traces", "application/x-protobuf"]);
      assert.ok(sent.body.includes("bookstore-under-test"), "service.name from OTEL_SERVICE_NAME");
      assert.match(server.output(), /"msg":"tracing: spans go to OTLP/);
    } finally {
      await server.stop();
    }
  });

  test("without OTEL_* nothing is exported and nothing says so", async () => {
    const server = await startServerProcess(["serve", "--only", "search"], { cwd: dir.path, env: { ACCESS_SECRET: testSecret(), SEARCH_PORT: "0" }, ready: /"msg":"listening"/ });
    try {
      assert.doesNotMatch(server.output(), /tracing/);
    } finally {
      await server.stop();
    }
  });
});
