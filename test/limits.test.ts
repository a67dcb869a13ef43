import assert from "node:assert/strict";
import http2 from "node:http2";
import type { Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { Config } from "../src/config.js";
import { SearchService } from "../src/gen/search/v1/search_pb.js";
import { startTestApp, tempDir, testConfig } from "./harness.js";
import { h2Exchange, h2Frame, h2Preface, hpackBlock, makeCertificate, openSocket, parseH2Frames, type Target } from "./http/wire-clients.js";

/** Resolves when the server closes the socket, with how long that took. */
function closedWithin(socket: Socket): Promise<{ ms: number; data: string }> {
  const t = performance.now();
  let data = "";
  socket.on("data", (d) => (data += d));
  socket.on("error", () => undefined);
  return new Promise((r) => socket.on("close", () => r({ ms: performance.now() - t, data })));
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
    const s = await openSocket({ port });
    const closed = closedWithin(s);
    await ping();
    const { ms } = await closed;
    assert.ok(ms >= 900 && ms < 3000, `closed after ${ms} ms`);
  });

  test("slowloris: a request head trickled byte by byte is cut off", async () => {
    const s = await openSocket({ port });
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
    const s = await openSocket({ port });
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
    const hogs = await Promise.all(Array.from({ length: 30 }, () => openSocket({ port })));
    const extra = await openSocket({ port });
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

describe("HTTP/2 and TLS connections are held to the same bounds, and one address cannot starve the rest", () => {
  const dir = tempDir();
  const base = testConfig(dir.path);
  const config: Config = {
    ...base,
    limits: {
      ...base.limits,
      readMaxBytes: 4096,
      headersTimeoutMs: 1000,
      requestTimeoutMs: 2000,
      maxHeaderBytes: 8192,
      maxConnectionsPerAddress: 5,
      maxPendingBodyBytesPerConnection: 8192,
      maxPendingBodyBytes: 12288,
    },
  };
  let app: Awaited<ReturnType<typeof startTestApp>>;
  let port: number;
  const honestPing = async () => {
    const t = performance.now();
    const res = await h2Exchange({ port }, { ":path": "/search.v1.SearchService/Ping", "content-type": "application/json" }, "{}");
    assert.equal(res.status, 200, res.error);
    return performance.now() - t;
  };
  before(async () => {
    app = await startTestApp(config, { only: "search" });
    port = app.ports.search!;
  });
  after(async () => {
    await app.close(0);
    dir.remove();
  });

  /** A stream whose request body arrives a little at a time and never ends (until the session is destroyed). */
  function trickle(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, first: Buffer | string, everyMs = 0) {
    const stream = session.request({ ":method": "POST", ":path": "/search.v1.SearchService/Ping", ...headers }, { endStream: false });
    stream.on("error", () => undefined);
    stream.write(first);
    const timer = everyMs > 0 ? setInterval(() => !stream.destroyed && stream.write(" "), everyMs) : undefined;
    const answer = new Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string; ms: number }>((resolve) => {
      const t = performance.now();
      let headersSeen: http2.IncomingHttpHeaders = {};
      let body = "";
      stream.on("response", (h) => (headersSeen = h));
      stream.on("data", (d: Buffer) => (body += d));
      // the answer is complete at its END_STREAM, though the request side may still be open
      const done = () => {
        clearInterval(timer);
        resolve({ status: Number(headersSeen[":status"] ?? 0), headers: headersSeen, body, ms: performance.now() - t });
      };
      stream.on("end", done);
      stream.on("close", done);
    });
    return { stream, answer };
  }

  test("a body trickled over HTTP/2 past RequestTimeout gets 408 (gRPC: deadline_exceeded); others are served meanwhile", async () => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", () => undefined);
    try {
      const connect = trickle(session, { "content-type": "application/json" }, "{", 200);
      const grpc = trickle(session, { "content-type": "application/grpc", te: "trailers" }, Buffer.from([0, 0, 0, 0, 100]), 200);
      const meanwhile = await honestPing();
      const [c, g] = await Promise.all([connect.answer, grpc.answer]);
      assert.equal(c.status, 408);
      assert.equal(JSON.parse(c.body).code, "deadline_exceeded");
      assert.ok(c.ms >= 1500 && c.ms < 6000, `answered after ${c.ms} ms`);
      assert.equal(g.headers["grpc-status"], "4");
      assert.ok(meanwhile < 1500, `an honest Ping took ${meanwhile} ms`);
    } finally {
      session.destroy();
    }
  });

  test("an HTTP/2 connection that opens no stream is closed after HeadersTimeout", async () => {
    const s = await openSocket({ port });
    const closed = closedWithin(s);
    s.write(Buffer.concat([h2Preface, h2Frame(4, 0, 0)]));
    await honestPing();
    const { ms } = await closed;
    assert.ok(ms >= 900 && ms < 4000, `closed after ${ms} ms`);
  });

  test("an HTTP/2 header list over MaxHeaderBytes is refused although the client never acknowledged SETTINGS", async () => {
    const s = await openSocket({ port });
    const received: Buffer[] = [];
    s.on("data", (d: Buffer) => received.push(d));
    s.on("error", () => undefined);
    const block = hpackBlock([
      [":method", "POST"],
      [":scheme", "http"],
      [":authority", "localhost"],
      [":path", "/search.v1.SearchService/Ping"],
      ["content-type", "application/json"],
      ["x-filler", "a".repeat(100 * 1024)],
    ]);
    // our SETTINGS (empty), never an ACK of the server's; the block in 16 KiB pieces; no body
    const pieces: Buffer[] = [];
    for (let at = 0; at < block.length; at += 16384) pieces.push(block.subarray(at, at + 16384));
    const frames = pieces.map((p, i) => h2Frame(i === 0 ? 1 : 9, (i === 0 ? 1 : 0) | (i === pieces.length - 1 ? 4 : 0), 1, p));
    s.write(Buffer.concat([h2Preface, h2Frame(4, 0, 0), ...frames]));
    await sleep(500);
    s.destroy();
    const frames2 = parseH2Frames(Buffer.concat(received));
    const data = frames2.filter((f) => f.type === 0 && f.stream === 1).map((f) => f.payload.toString()).join("");
    const reset = frames2.some((f) => (f.type === 3 && f.stream === 1) || f.type === 7);
    assert.ok(reset || /resource_exhausted/.test(data), `stream 1 was answered ${JSON.stringify(data)}`);
    assert.doesNotMatch(data, /^\{\}$/, "the oversized request reached the method");
    await honestPing();
  });

  test("connections past MaxConnectionsPerAddress from one address are closed; other addresses are served", async () => {
    const hogs = await Promise.all(Array.from({ length: 5 }, () => openSocket({ port, localAddress: "127.0.0.2" })));
    for (const h of hogs) {
      h.on("error", () => undefined);
      h.write(h2Preface);
    }
    const extra = await openSocket({ port, localAddress: "127.0.0.2" });
    const { ms } = await closedWithin(extra);
    assert.ok(ms < 500, `the sixth connection from 127.0.0.2 was closed after ${ms} ms`);
    assert.ok((await honestPing()) < 1500);
    for (const h of hogs) h.destroy();
  });

  test("unfinished bodies are bounded per connection and in all; honest calls go on", async () => {
    const a = http2.connect(`http://127.0.0.1:${port}`);
    let b = a;
    a.on("error", () => undefined);
    try {
      const json = { "content-type": "application/json" };
      const held = [trickle(a, json, " ".repeat(3000)), trickle(a, json, " ".repeat(3000))];
      await sleep(200);
      // a third 3000 bytes on connection a passes its 8192
      const third = await trickle(a, json, " ".repeat(3000)).answer;
      assert.equal(third.status, 429);
      assert.equal(JSON.parse(third.body).code, "resource_exhausted");
      // connection b: 4000 fits its own bound; a further 3000 passes the total (6000 + 4000 + 3000 > 12288)
      b = http2.connect(`http://127.0.0.1:${port}`);
      b.on("error", () => undefined);
      const onB = trickle(b, json, " ".repeat(4000));
      await sleep(200);
      const overTotal = await trickle(b, { "content-type": "application/grpc-web+proto" }, Buffer.alloc(3000)).answer;
      assert.equal(overTotal.status, 200);
      assert.equal(overTotal.headers["grpc-status"], "8", "gRPC-Web (Connect's own path): resource_exhausted");
      assert.ok((await honestPing()) < 1500);
      // (resetting these streams from node:http2's client can spin it: the sessions are destroyed instead)
      void held;
      void onB;
    } finally {
      a.destroy();
      b.destroy();
    }
    // what was held is given back: a full-size body fits again
    const res = await h2Exchange({ port }, { ":path": "/search.v1.SearchService/Ping", "content-type": "application/json" }, `{}${" ".repeat(4000)}`);
    assert.equal(res.status, 200, res.error);
  });
});

describe("HTTP/1.1 over TLS gets the same head and body timeouts", () => {
  const dir = tempDir();
  let app: Awaited<ReturnType<typeof startTestApp>>;
  let target: Target;
  before(async () => {
    const base = testConfig(dir.path);
    const made = makeCertificate(dir.path);
    app = await startTestApp({ ...base, tls: { certFile: made.cert, keyFile: made.key }, limits: { ...base.limits, headersTimeoutMs: 1000, requestTimeoutMs: 2000 } }, { only: "search" });
    target = { port: app.ports.search!, tls: { ca: made.ca } };
  });
  after(async () => {
    await app.close(0);
    dir.remove();
  });

  test("a head trickled byte by byte over TLS is cut off", async () => {
    const s = await openSocket(target);
    const closed = closedWithin(s);
    const head = "POST /search.v1.SearchService/Ping HTTP/1.1\r\nHost: x\r\nX-Slow: " + "a".repeat(200);
    let i = 0;
    const timer = setInterval(() => !s.destroyed && i < head.length && s.write(head[i++]!), 50);
    const { ms, data } = await closed;
    clearInterval(timer);
    assert.ok(ms < 4000, `closed after ${ms} ms`);
    assert.match(data, /^HTTP\/1\.1 408 /);
  });

  test("a TLS connection that never finishes its handshake is closed after HeadersTimeout", async () => {
    const s = await openSocket({ port: target.port });
    const { ms } = await closedWithin(s);
    assert.ok(ms >= 900 && ms < 4000, `closed after ${ms} ms`);
  });
});
