import assert from "node:assert/strict";
import http2 from "node:http2";
import { connect, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { Config } from "../src/config.js";
import { SearchService } from "../src/gen/search/v1/search_pb.js";
import { startTestApp, tempDir, testConfig } from "./harness.js";

/** Resolves when the server closes the socket, with how long that took. */
function closedWithin(socket: Socket): Promise<{ ms: number; data: string }> {
  const t = performance.now();
  let data = "";
  socket.on("data", (d) => (data += d));
  socket.on("error", () => undefined);
  return new Promise((r) => socket.on("close", () => r({ ms: performance.now() - t, data })));
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
}

describe("server limits, each broken by a client while others are served", () => {
  const dir = tempDir();
  const base = testConfig(dir.path);
  const config: Config = {
    ...base,
    limits: {
      ...base.limits,
      headersTimeoutMs: 1000,
      requestTimeoutMs: 2000,
      maxHeaderBytes: 8192,
      maxConcurrentStreams: 2,
      maxConnections: 30,
      idleTimeoutMs: 5000,
    },
  };
  let app: Awaited<ReturnType<typeof startTestApp>>;
  let port: number;
  const ping = async () => {
    const res = await fetch(`${app.searchUrl}/search.v1.SearchService/Ping`, {
      method: "POST",
      headers: { "content-type": "application/json", connection: "close" },
      body: "{}",
    });
    assert.equal(res.status, 200);
    await res.text();
  };
  before(async () => {
    app = await startTestApp(config, { only: "search" });
    port = app.ports.search!;
  });
  after(async () => {
    await app.close(0);
    dir.remove();
  });

  test("a request head over MaxHeaderBytes gets 431 (HTTP/1.1); a 1 MB token is refused at the door", async () => {
    const res = await fetch(`${app.searchUrl}/search.v1.SearchService/Do`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${"a".repeat(1024 * 1024)}` },
      body: "{}",
    }).catch((err: Error) => err);
    if (res instanceof Error) {
      assert.match(String((res.cause as Error | undefined)?.message ?? res.message), /socket|closed|reset|other side/i);
    } else {
      assert.equal(res.status, 431);
    }
    await ping();
  });

  test("an oversized header list over HTTP/2 fails that call only", async () => {
    const client = createClient(SearchService, createGrpcTransport({ baseUrl: app.searchUrl }));
    await assert.rejects(client.do({ name: "x" }, { headers: { authorization: "a".repeat(64 * 1024) } }), (err) => {
      const code = ConnectError.from(err).code;
      return code !== Code.Unauthenticated; // refused before it reaches auth
    });
    await createClient(SearchService, createGrpcTransport({ baseUrl: app.searchUrl })).ping({});
  });

  test("a connection that sends nothing is closed after HeadersTimeout", async () => {
    const s = await open(port);
    const closed = closedWithin(s);
    await ping();
    const { ms } = await closed;
    assert.ok(ms >= 900 && ms < 3000, `closed after ${ms} ms`);
  });

  test("slowloris: a request head trickled byte by byte is cut off", async () => {
    const s = await open(port);
    const closed = closedWithin(s);
    const head = "POST /search.v1.SearchService/Ping HTTP/1.1\r\nHost: x\r\nX-Slow: " + "a".repeat(200);
    let i = 0;
    const timer = setInterval(() => {
      if (!s.destroyed && i < head.length) s.write(head[i++]!);
    }, 50);
    await ping();
    const { ms, data } = await closed;
    clearInterval(timer);
    assert.ok(ms < 4000, `closed after ${ms} ms`);
    assert.ok(i < head.length, "cut off before the head was complete");
    assert.match(data, /^HTTP\/1\.1 408 /);
  });

  test("a body trickled past RequestTimeout is cut off", async () => {
    const s = await open(port);
    const closed = closedWithin(s);
    s.write("POST /search.v1.SearchService/Ping HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{");
    const timer = setInterval(() => !s.destroyed && s.write(" "), 100);
    await ping();
    const { ms, data } = await closed;
    clearInterval(timer);
    assert.ok(ms >= 1500 && ms < 5000, `closed after ${ms} ms`);
    assert.match(data, /^HTTP\/1\.1 408 /);
  });

  test("HTTP/2 allows MaxConcurrentStreams at once; a further stream waits for a free slot", async () => {
    const session = http2.connect(app.searchUrl);
    session.on("error", () => undefined);
    try {
      const settings = await new Promise<http2.Settings>((r) => session.once("remoteSettings", r));
      assert.equal(settings.maxConcurrentStreams, 2);
      const request = () =>
        session.request({ ":method": "POST", ":path": "/search.v1.SearchService/Ping", "content-type": "application/json" }, { endStream: false });
      const status = (s: http2.ClientHttp2Stream) => new Promise<unknown>((r) => s.on("response", (h) => r(h[":status"])));
      const held = [request(), request()];
      const third = request();
      let thirdAnswered = false;
      const thirdStatus = status(third).then((v) => ((thirdAnswered = true), v));
      third.end("{}");
      await sleep(300);
      assert.equal(thirdAnswered, false, "no third stream while two are open");
      for (const s of held) s.end("{}");
      assert.deepEqual(await Promise.all([...held.map(status), thirdStatus]), [200, 200, 200]);
    } finally {
      session.destroy();
    }
  });

  test("connections beyond MaxConnections are closed as they arrive; service resumes", async () => {
    const hogs = await Promise.all(Array.from({ length: 30 }, () => open(port)));
    const extra = await open(port);
    const { ms } = await closedWithin(extra);
    assert.ok(ms < 500, `the extra connection was closed after ${ms} ms`);
    for (const h of hogs) h.destroy();
    // the server counts the hogs out as their close reaches it
    for (let i = 0; ; i++) {
      try {
        await ping();
        break;
      } catch (err) {
        if (i === 40) throw err;
        await sleep(50);
      }
    }
  });
});
