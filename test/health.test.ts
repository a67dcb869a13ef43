import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../src/gen/health/v1/health_pb.js";
import { needs, resetDatabase, startTestApp, tempDir, testConfig, testMysqlUrl } from "./harness.js";
import { proxyFor, type TcpProxy } from "./tcp-proxy.js";

const dir = tempDir();
after(() => dir.remove());

describe("grpc.health.v1.Health and HTTP probes", () => {
  let app: Awaited<ReturnType<typeof startTestApp>>;
  before(async () => (app = await startTestApp(testConfig(dir.path))));
  after(() => app.close());

  test("Check, List and the probes on each port, without a token", async () => {
    for (const [url, service] of [[app.userUrl, "user.v1.UserService"], [app.searchUrl, "search.v1.SearchService"]] as const) {
      const health = createClient(Health, createGrpcTransport({ baseUrl: url }));
      assert.equal((await health.check({ service: "" })).status, Status.SERVING);
      assert.equal((await health.check({ service })).status, Status.SERVING);
      await assert.rejects(health.check({ service: "no.such.Service" }), (err) => ConnectError.from(err).code === Code.NotFound);
      const list = await health.list({});
      assert.deepEqual(Object.keys(list.statuses).sort(), ["", service]);
      for (const path of ["/healthz", "/readyz"]) {
        const res = await fetch(url + path);
        assert.equal(res.status, 200);
        assert.equal(await res.text(), "ok\n");
      }
    }
  });

  test("Watch streams SERVING, then NOT_SERVING when the server shuts down, then ends", async () => {
    const health = createClient(Health, createGrpcTransport({ baseUrl: app.searchUrl }));
    // every wait is bounded: a stream that says nothing, or never ends, fails the test
    const signal = AbortSignal.timeout(20_000);
    const seen: Status[] = [];
    let ended = false;
    const stream = (async () => {
      for await (const res of health.watch({ service: "search.v1.SearchService" }, { signal })) seen.push(res.status);
    })().finally(() => (ended = true));
    const deadline = Date.now() + 20_000;
    while (seen.length === 0 && !ended && Date.now() < deadline) await sleep(10);
    assert.deepEqual(seen, [Status.SERVING], "the current status comes first, at once");
    const unknown: Status[] = [];
    for await (const res of health.watch({ service: "nope" }, { signal })) unknown.push(res.status);
    assert.deepEqual(unknown, [Status.SERVICE_UNKNOWN], "an unknown service: SERVICE_UNKNOWN, then the stream ends");
    const closing = app.close(5000);
    await stream;
    await closing;
    assert.deepEqual(seen, [Status.SERVING, Status.NOT_SERVING]);
  });
});

const mysqlUrl = testMysqlUrl();

describe("readiness follows the database (MySQL)", { skip: needs("mysql") }, () => {
  let proxy: TcpProxy;
  let app: Awaited<ReturnType<typeof startTestApp>>;
  before(async () => {
    await resetDatabase(mysqlUrl!);
    const through = await proxyFor(mysqlUrl!, 3306);
    proxy = through.proxy;
    app = await startTestApp(testConfig(dir.path, { dataSource: through.url }), { healthIntervalMs: 100 });
  });
  after(async () => {
    await app?.close(0);
    await proxy?.close();
  });

  const until = async (what: string, check: () => Promise<boolean>) => {
    for (let i = 0; i < 100; i++) {
      if (await check()) return;
      await sleep(50);
    }
    assert.fail(`${what} did not happen`);
  };

  test("NOT_SERVING and 503 while the database is down; SERVING again after", async () => {
    const health = createClient(Health, createGrpcTransport({ baseUrl: app.userUrl }));
    assert.equal((await health.check({ service: "" })).status, Status.SERVING);
    proxy.cut();
    await until("not serving", async () => (await health.check({ service: "user.v1.UserService" })).status === Status.NOT_SERVING);
    assert.equal((await fetch(`${app.userUrl}/readyz`)).status, 503);
    assert.equal((await fetch(`${app.userUrl}/healthz`)).status, 200, "alive all the same");
    proxy.restore();
    await until("serving again", async () => (await fetch(`${app.userUrl}/readyz`)).status === 200);
    assert.equal((await health.check({ service: "" })).status, Status.SERVING);
  });
});
