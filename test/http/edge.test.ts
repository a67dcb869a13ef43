import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import http2 from "node:http2";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Config } from "../../src/config.js";
import { freePort } from "../../scripts/free-port.js";
import { createPortServer } from "../../src/server.js";
import { memoryLogger, startServerProcess, startTestApp, tempDir, testConfig, testRedisUrl, testSecret, type ServerProcess } from "../harness.js";
import { h2Exchange, makeCertificate, openSocket, parseHttp1, rawExchange, type Target } from "./wire-clients.js";

const ping = "/search.v1.SearchService/Ping";

/** The requests of issue 13 that ended the process, exactly as sent: each must get a 4xx. */
function badHeads(path: string): [name: string, bytes: string][] {
  const head = (host: string | undefined, version = "1.1") =>
    `POST ${path} HTTP/${version}\r\n${host === undefined ? "" : `Host: ${host}\r\n`}Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`;
  return [
    ["Host: a b", head("a b")],
    ["Host: a:99999", head("a:99999")],
    ["Host: [", head("[")],
    ["Host: a%zz", head("a%zz")],
    ["HTTP/1.0 without Host", head(undefined, "1.0")],
  ];
}

async function assertRefused400(target: Target, name: string, bytes: string): Promise<void> {
  const { data } = await rawExchange(target, bytes);
  const res = parseHttp1(data);
  assert.ok(res, `${name}: an HTTP response (got ${JSON.stringify(data.toString("latin1").slice(0, 80))})`);
  assert.equal(res.status, 400, name);
  assert.equal(JSON.parse(res.body.toString()).code, "invalid_argument", name);
}

async function assertPing(target: Target): Promise<void> {
  const res = await h2Exchange(target, { ":path": ping, "content-type": "application/json" }, "{}");
  assert.equal(res.status, 200, `Ping after the bad requests: ${res.error ?? ""}`);
  const { data } = await rawExchange(target, `POST ${ping} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
  assert.equal(parseHttp1(data)?.status, 200);
}

for (const mode of ["cleartext", "TLS"] as const) {
  describe(`requests that named a bad authority get 400 and the server keeps serving (${mode})`, () => {
    const dir = tempDir();
    let app: Awaited<ReturnType<typeof startTestApp>>;
    let targets: Target[];
    before(async () => {
      const base = testConfig(dir.path);
      let config: Config = base;
      let ca: Buffer | undefined;
      if (mode === "TLS") {
        const made = makeCertificate(dir.path);
        ca = made.ca;
        config = { ...base, tls: { certFile: made.cert, keyFile: made.key } };
      }
      app = await startTestApp(config);
      targets = [app.ports.search!, app.ports.user!].map((port) => ({ port, tls: ca ? { ca } : undefined }));
    });
    after(async () => {
      await app.close(0);
      dir.remove();
    });

    test("over HTTP/1.x, on both ports: each of the issue's heads", async () => {
      for (const target of targets) {
        for (const [name, bytes] of badHeads(target.port === app.ports.user ? "/user.v1.UserService/Login" : ping)) await assertRefused400(target, name, bytes);
        await assertPing({ ...target, port: app.ports.search! });
      }
    });

    test("over HTTP/2, on both ports: an :authority that does not parse", async () => {
      for (const target of targets) {
        const path = target.port === app.ports.user ? "/user.v1.UserService/Login" : ping;
        for (const authority of ["a:99999", "a b", "[", ""]) {
          const res = await h2Exchange(target, { ":path": path, ":authority": authority, "content-type": "application/json" }, "{}");
          // nghttp2 itself resets streams whose :authority is empty or has characters RFC 3986 forbids (a space)
          if ((authority === "a b" || authority === "") && /PROTOCOL_ERROR|rst 1/.test(res.error ?? "")) continue;
          assert.equal(res.status, 400, `:authority ${JSON.stringify(authority)}: ${res.error ?? ""}`);
          assert.equal(JSON.parse(res.body.toString()).code, "invalid_argument");
          const grpc = await h2Exchange(target, { ":path": path, ":authority": authority, "content-type": "application/grpc", te: "trailers" }, Buffer.alloc(5));
          assert.equal(grpc.status, 200);
          assert.equal(grpc.headers["grpc-status"], "3", "gRPC sees invalid_argument, not an HTTP status mapped to internal");
        }
      }
      await assertPing(targets[0]!);
    });

    test("a body that does not decode is invalid_argument, never internal, on every protocol", async () => {
      const target = targets[1]!; // the user port: Login
      const login = "/user.v1.UserService/Login";
      const ff = Buffer.from([0xff, 0xff, 0xff, 0xff]);
      const envelope = Buffer.concat([Buffer.from([0, 0, 0, 0, 4]), ff]);
      const { data } = await rawExchange(target, Buffer.concat([Buffer.from(`POST ${login} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/proto\r\nContent-Length: 4\r\nConnection: close\r\n\r\n`), ff]));
      const connect = parseHttp1(data)!;
      assert.equal(connect.status, 400);
      assert.equal(JSON.parse(connect.body.toString()).code, "invalid_argument");
      for (const headers of [{ "content-type": "application/grpc", te: "trailers" }, { "content-type": "application/grpc", te: "trailers", "grpc-timeout": "5S" }]) {
        const grpc = await h2Exchange(target, { ":path": login, ...headers }, envelope);
        assert.equal(grpc.trailers["grpc-status"] ?? grpc.headers["grpc-status"], "3", JSON.stringify(headers));
      }
      const web = await h2Exchange(target, { ":path": login, "content-type": "application/grpc-web+proto" }, envelope);
      assert.match(web.body.subarray(5).toString("latin1"), /grpc-status: 3\r\n/);
      // a Connect stream (reflection, on the search port) whose envelope says compressed with no encoding named
      const search = targets[0]!;
      const stream = await h2Exchange(search, { ":path": "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "content-type": "application/connect+json", "connect-accept-encoding": "gzip" }, Buffer.from([1, 0, 0, 0, 2, 0x7b, 0x7d]));
      assert.match(stream.body.toString("latin1"), /"code":"invalid_argument"/);
      // a gzip body cut short
      const gz = await h2Exchange(target, { ":path": login, "content-type": "application/json", "content-encoding": "gzip" }, Buffer.from([0x1f, 0x8b, 8, 0, 0, 0]));
      assert.equal(gz.status, 400);
      assert.equal(JSON.parse(gz.body.toString()).code, "invalid_argument");
    });

    test("404, 405 and 415 say what was expected", async () => {
      const target = targets[0]!;
      const notFound = await h2Exchange(target, { ":path": "/nothing/here", "content-type": "application/json" }, "{}");
      assert.equal(notFound.status, 404);
      assert.match(JSON.parse(notFound.body.toString()).message, /POST \/search\.v1\.SearchService\//);
      // Ping and Do take GET (NO_SIDE_EFFECTS); the health check does not
      const wrongMethod = parseHttp1((await rawExchange(target, `GET /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`)).data)!;
      assert.equal(wrongMethod.status, 405);
      assert.equal(wrongMethod.headers.allow, "POST");
      assert.match(JSON.parse(wrongMethod.body.toString()).message, /with POST/);
      const wrongType = await h2Exchange(target, { ":path": ping, "content-type": "text/plain" }, "{}");
      assert.equal(wrongType.status, 415);
      assert.match(JSON.parse(wrongType.body.toString()).message, /application\/json/);
      const unknownGrpc = await h2Exchange(target, { ":path": "/search.v1.SearchService/Nope", "content-type": "application/grpc", te: "trailers" }, Buffer.alloc(5));
      assert.equal(unknownGrpc.headers["grpc-status"], "12", "gRPC clients see unimplemented");
    });
  });
}

test("the last line: a handler that throws is logged once through the logger and answered, over HTTP/1.1 and HTTP/2", async () => {
  const { logger, lines } = memoryLogger();
  const server = createPortServer(() => {
    throw new TypeError("a bug of ours");
  }, { logger });
  const port = await server.listen(0, "127.0.0.1");
  try {
    const h1 = parseHttp1((await rawExchange({ port }, `POST ${ping} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`)).data)!;
    assert.equal(h1.status, 500);
    assert.equal(JSON.parse(h1.body.toString()).code, "internal");
    const grpc = await h2Exchange({ port }, { ":path": ping, "content-type": "application/grpc", te: "trailers" }, Buffer.alloc(5));
    assert.equal(grpc.headers["grpc-status"], "13");
    const logged = lines.filter((l) => /request failed before reaching its handler/.test(l));
    assert.equal(logged.length, 2, "once per request");
    assert.match(logged[0]!, /"error":"TypeError"/);
  } finally {
    await server.close(0);
  }
});

test("a client abort is logged at debug once, as a JSON line without a stack", async () => {
  const dir = tempDir();
  const { logger, lines } = memoryLogger();
  const app = await startTestApp(testConfig(dir.path), { only: "search", logger });
  try {
    const s = await openSocket({ port: app.ports.search! });
    s.write(`POST ${ping} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"x`);
    await sleep(50);
    s.destroy();
    await sleep(100);
    const aborts = lines.map((l) => JSON.parse(l) as { level: number; msg: string; stack?: unknown }).filter((l) => l.msg === "client went away before the answer");
    assert.equal(aborts.length, 1);
    assert.equal(aborts[0]!.level, 20, "debug");
    assert.ok(!lines.some((l) => /\bat \S+ \(/.test(l)), "no stack trace in the log");
  } finally {
    await app.close(0);
    dir.remove();
  }
});

describe("a bookstore process under a stream of bad and aborted requests stays up, and logs only JSON", () => {
  const dir = tempDir();
  let server: ServerProcess;
  let target: Target;
  const redisUrl = testRedisUrl();
  before(async () => {
    const cwd = join(dir.path, "app");
    mkdirSync(cwd);
    const env: Record<string, string> = { ACCESS_SECRET: testSecret(), USER_PORT: String(await freePort()), SEARCH_PORT: String(await freePort()) };
    // with Redis, two workers, as in the issue; the embedded default is one process
    const args = redisUrl ? ["serve", "--workers", "2"] : ["serve"];
    if (redisUrl) env.REDIS_URL = redisUrl;
    server = await startServerProcess(args, { cwd, env, ready: /"service":"search".*"msg":"listening"/, readyCount: redisUrl ? 2 : 1 });
    target = { port: Number(env.SEARCH_PORT) };
  });
  after(async () => {
    await server.stop();
    dir.remove();
  });

  test("bad heads every 20 ms with honest Pings between: every Ping answered, no worker lost", async () => {
    let honest = 0;
    for (let round = 0; round < 10; round++) {
      for (const [name, bytes] of badHeads(ping)) await assertRefused400(target, name, bytes);
      const h2 = await h2Exchange(target, { ":path": ping, ":authority": "a:99999", "content-type": "application/json" }, "{}");
      assert.equal(h2.status, 400);
      await assertPing(target);
      honest++;
      await sleep(20);
    }
    assert.equal(honest, 10);
    assert.doesNotMatch(server.output(), /worker .*(exited|died)|"msg":"worker (exited|replaced)/i);
  });

  test("clients that go away mid-body and mid-call leave no stack trace: every line is JSON", async () => {
    for (let i = 0; i < 20; i++) {
      const s = await openSocket(target);
      s.write(`POST ${ping} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"x`);
      await sleep(5);
      s.destroy();
      const session = http2.connect(`http://127.0.0.1:${target.port}`);
      session.on("error", () => undefined);
      const stream = session.request({ ":method": "POST", ":path": ping, "content-type": "application/json" }, { endStream: false });
      stream.on("error", () => undefined);
      stream.write('{"x');
      await sleep(5);
      session.destroy();
    }
    await assertPing(target);
    await sleep(200);
    // counted; with workers each has its own registry, so the scrape sees at least its own share
    const metrics = await (await fetch(`http://127.0.0.1:${target.port}/metrics`)).text();
    const aborts = Number(/^rpc_client_aborts_total (\d+)/m.exec(metrics)?.[1] ?? 0);
    assert.ok(aborts >= (redisUrl ? 1 : 20), `rpc_client_aborts_total ${aborts}`);
    const lines = server.output().split("\n").filter((l) => l !== "");
    assert.ok(lines.length > 0);
    for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), `not a JSON log line: ${line}`);
  });
});
