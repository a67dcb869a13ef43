import assert from "node:assert/strict";
import { request as h1request } from "node:http";
import { connect as h2connect } from "node:http2";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { after, before, describe, test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { DoRequestSchema } from "../src/gen/search/v1/search_pb.js";
import { LoginRequestSchema } from "../src/gen/user/v1/user_pb.js";
import { openStorage } from "../src/service-context.js";
import { addUser } from "../src/user/manage-users.js";
import { startTestApp, tempDir, testConfig, testPasswordCost } from "./harness.js";

const dir = tempDir();
after(() => dir.remove());

/** What a response looked like on the wire, minus what differs between any two responses. */
interface Wire {
  status: number;
  headers: Record<string, string>;
  trailers: Record<string, string>;
  body: string;
}

const varying = new Set(["date", "connection", "keep-alive", "transfer-encoding"]);
const keep = (h: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(h)
      .filter(([k]) => !k.startsWith(":") && !varying.has(k))
      .map(([k, v]) => [k, String(v)])
      .sort(([a], [b]) => a.localeCompare(b)),
  );

function http1(port: number, path: string, init: { method?: string; headers?: Record<string, string>; body?: Buffer | string; chunked?: boolean }): Promise<Wire> {
  return new Promise((resolve, reject) => {
    const req = h1request({ host: "127.0.0.1", port, path, method: init.method ?? "POST", headers: init.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: keep(res.headers), trailers: keep(res.trailers), body: Buffer.concat(chunks).toString("base64") }));
    });
    req.on("error", reject);
    if (init.chunked && init.body !== undefined) {
      const b = Buffer.from(init.body);
      req.write(b.subarray(0, b.length >> 1));
      req.end(b.subarray(b.length >> 1));
    } else req.end(init.body);
  });
}

function http2(port: number, path: string, init: { headers?: Record<string, string>; body?: Buffer | string }): Promise<Wire> {
  return new Promise((resolve, reject) => {
    const session = h2connect(`http://127.0.0.1:${port}`);
    session.on("error", reject);
    const stream = session.request({ ":method": "POST", ":path": path, ...init.headers });
    let headers: Record<string, unknown> = {};
    let trailers: Record<string, unknown> = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => (headers = h));
    stream.on("trailers", (t) => (trailers = t));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      session.close();
      resolve({ status: Number(headers[":status"]), headers: keep(headers), trailers: keep(trailers), body: Buffer.concat(chunks).toString("base64") });
    });
    stream.on("error", reject);
    stream.end(init.body);
  });
}

const envelope = (bytes: Uint8Array) => {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([head, Buffer.from(bytes)]);
};

describe("the lean unary bridge answers byte for byte as connectNodeAdapter's", () => {
  let lean: Awaited<ReturnType<typeof startTestApp>>;
  let stock: Awaited<ReturnType<typeof startTestApp>>;
  let token: string;

  before(async () => {
    const config = { ...testConfig(dir.path, { dataSource: `sqlite:${join(dir.path, "wire.db")}` }), limits: { ...testConfig(dir.path).limits, readMaxBytes: 4096 } };
    const storage = await openStorage(config, { passwordCost: testPasswordCost });
    await addUser(storage, { username: "alice", password: "alice-password" });
    await storage.close();
    lean = await startTestApp(config);
    stock = await startTestApp(config, { leanUnary: false });
    const res = await fetch(`${lean.userUrl}/user.v1.UserService/Login`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"username":"alice","password":"alice-password"}' });
    token = ((await res.json()) as { accessToken: string }).accessToken;
  });
  after(async () => {
    await lean.close();
    await stock.close();
  });

  const json = { "content-type": "application/json", "x-request-id": "wire-test" };
  const proto = { "content-type": "application/proto", "x-request-id": "wire-test" };
  const grpc = { "content-type": "application/grpc", te: "trailers", "x-request-id": "wire-test" };
  const grpcWeb = { "content-type": "application/grpc-web+proto", "x-request-id": "wire-test" };
  const get = { "x-request-id": "wire-test" };
  const doBinary = toBinary(DoRequestSchema, create(DoRequestSchema, { name: "go-zero" }));
  const auth = () => ({ authorization: `Bearer ${token}` });
  const big = JSON.stringify({ name: "x".repeat(5000) });

  type Case = [name: string, port: "user" | "search", path: string, init: () => { method?: string; headers?: Record<string, string>; body?: Buffer | string; chunked?: boolean }];
  const cases: Case[] = [
    ["Connect JSON Ping", "search", "/search.v1.SearchService/Ping", () => ({ headers: json, body: "{}" })],
    ["Connect binary Ping", "search", "/search.v1.SearchService/Ping", () => ({ headers: proto, body: "" })],
    ["Connect JSON Do with a token", "search", "/search.v1.SearchService/Do", () => ({ headers: { ...json, ...auth() }, body: '{"name":"go-zero"}' })],
    ["Connect binary Do with a token", "search", "/search.v1.SearchService/Do", () => ({ headers: { ...proto, ...auth() }, body: Buffer.from(doBinary) })],
    ["Do without a token", "search", "/search.v1.SearchService/Do", () => ({ headers: json, body: '{"name":"go-zero"}' })],
    ["Do with a bad token", "search", "/search.v1.SearchService/Do", () => ({ headers: { ...json, authorization: "Bearer x.y.z" }, body: '{"name":"go-zero"}' })],
    ["malformed JSON", "search", "/search.v1.SearchService/Do", () => ({ headers: { ...json, ...auth() }, body: '{"name":' })],
    ["an unknown field", "search", "/search.v1.SearchService/Do", () => ({ headers: { ...json, ...auth() }, body: '{"title":"go-zero"}' })],
    ["an empty name", "search", "/search.v1.SearchService/Do", () => ({ headers: { ...json, ...auth() }, body: '{"name":""}' })],
    ["an unsupported content type", "search", "/search.v1.SearchService/Ping", () => ({ headers: { "content-type": "text/plain" }, body: "{}" })],
    ["GET of a POST-only method", "user", "/user.v1.UserService/Login", () => ({ method: "GET", headers: json })],
    ["Connect GET Ping", "search", "/search.v1.SearchService/Ping?connect=v1&encoding=json&message=%7B%7D", () => ({ method: "GET", headers: get })],
    ["Connect GET Do with a token", "search", `/search.v1.SearchService/Do?connect=v1&encoding=json&message=${encodeURIComponent('{"name":"go-zero"}')}`, () => ({ method: "GET", headers: { ...get, ...auth() } })],
    ["Connect GET Do without a token", "search", `/search.v1.SearchService/Do?connect=v1&encoding=json&message=${encodeURIComponent('{"name":"go-zero"}')}`, () => ({ method: "GET", headers: get })],
    ["a timeout header", "search", "/search.v1.SearchService/Ping", () => ({ headers: { ...json, "connect-timeout-ms": "5000" }, body: "{}" })],
    ["a bad timeout header", "search", "/search.v1.SearchService/Ping", () => ({ headers: { ...json, "connect-timeout-ms": "soon" }, body: "{}" })],
    ["a gzip request body", "search", "/search.v1.SearchService/Do", () => ({ headers: { ...json, ...auth(), "content-encoding": "gzip" }, body: gzipSync('{"name":"go-zero"}') })],
    ["an unknown content encoding", "search", "/search.v1.SearchService/Ping", () => ({ headers: { ...json, "content-encoding": "zstd" }, body: "{}" })],
    ["accept-encoding gzip", "search", "/search.v1.SearchService/Do", () => ({ headers: { ...json, ...auth(), "accept-encoding": "gzip" }, body: '{"name":"go-zero"}' })],
    ["protocol version header", "search", "/search.v1.SearchService/Ping", () => ({ headers: { ...json, "connect-protocol-version": "1" }, body: "{}" })],
    ["a declared body over the limit", "search", "/search.v1.SearchService/Do", () => ({ headers: { ...json, ...auth() }, body: big })],
    ["a chunked body over the limit", "search", "/search.v1.SearchService/Do", () => ({ headers: { ...json, ...auth() }, body: big, chunked: true })],
    ["a chunked body within the limit", "search", "/search.v1.SearchService/Do", () => ({ headers: { ...json, ...auth() }, body: '{"name":"go-zero"}', chunked: true })],
    ["Login with a wrong password", "user", "/user.v1.UserService/Login", () => ({ headers: json, body: '{"username":"alice","password":"nope"}' })],
    ["an unknown method", "search", "/search.v1.SearchService/Nope", () => ({ headers: json, body: "{}" })],
    ["gRPC-web Do with a token", "search", "/search.v1.SearchService/Do", () => ({ headers: { ...grpcWeb, ...auth() }, body: envelope(doBinary) })],
    ["gRPC-web Do without a token", "search", "/search.v1.SearchService/Do", () => ({ headers: grpcWeb, body: envelope(doBinary) })],
  ];

  for (const [name, port, path, init] of cases) {
    test(`HTTP/1.1: ${name}`, async () => {
      const [a, b] = await Promise.all([http1(lean.ports[port]!, path, init()), http1(stock.ports[port]!, path, init())]);
      assert.deepEqual(a, b);
    });
  }

  const h2cases: Case[] = [
    ...cases.filter(([n]) => !n.startsWith("GET") && !n.includes("chunked")),
    ["gRPC Do with a token", "search", "/search.v1.SearchService/Do", () => ({ headers: { ...grpc, ...auth() }, body: envelope(doBinary) })],
    ["gRPC Do without a token", "search", "/search.v1.SearchService/Do", () => ({ headers: grpc, body: envelope(doBinary) })],
    ["gRPC with a timeout", "search", "/search.v1.SearchService/Do", () => ({ headers: { ...grpc, ...auth(), "grpc-timeout": "5S" }, body: envelope(doBinary) })],
    ["gRPC with a truncated envelope", "search", "/search.v1.SearchService/Do", () => ({ headers: { ...grpc, ...auth() }, body: envelope(doBinary).subarray(0, 4) })],
    ["gRPC over the message limit", "search", "/search.v1.SearchService/Do", () => ({ headers: { ...grpc, ...auth() }, body: envelope(Buffer.alloc(5000, 1)) })],
    ["gRPC +proto Ping", "search", "/search.v1.SearchService/Ping", () => ({ headers: { ...grpc, "content-type": "application/grpc+proto" }, body: envelope(new Uint8Array(0)) })],
    ["gRPC accepting gzip", "search", "/search.v1.SearchService/Do", () => ({ headers: { ...grpc, ...auth(), "grpc-accept-encoding": "gzip" }, body: envelope(doBinary) })],
    ["gRPC accepting an unknown encoding", "search", "/search.v1.SearchService/Do", () => ({ headers: { ...grpc, ...auth(), "grpc-accept-encoding": "zstd" }, body: envelope(doBinary) })],
    ["gRPC with an empty message", "search", "/search.v1.SearchService/Do", () => ({ headers: { ...grpc, ...auth() }, body: envelope(new Uint8Array(0)) })],
    ["gRPC with bytes that are not the message", "search", "/search.v1.SearchService/Do", () => ({ headers: { ...grpc, ...auth() }, body: envelope(Uint8Array.from([0xff, 0xff, 0xff])) })],
    ["gRPC with two messages", "search", "/search.v1.SearchService/Do", () => ({ headers: { ...grpc, ...auth() }, body: Buffer.concat([envelope(doBinary), envelope(doBinary)]) })],
    ["gRPC with no message", "search", "/search.v1.SearchService/Do", () => ({ headers: { ...grpc, ...auth() }, body: Buffer.alloc(0) })],
    ["gRPC with a compressed flag and no encoding", "search", "/search.v1.SearchService/Do", () => ({ headers: { ...grpc, ...auth() }, body: Buffer.from(envelope(doBinary)).fill(1, 0, 1) })],
    ["gRPC with a gzip message", "search", "/search.v1.SearchService/Do", () => ({ headers: { ...grpc, ...auth(), "grpc-encoding": "gzip" }, body: Buffer.from(envelope(gzipSync(doBinary))).fill(1, 0, 1) })],
    ["gRPC Login with a wrong password", "user", "/user.v1.UserService/Login", () => ({ headers: grpc, body: envelope(toBinary(LoginRequestSchema, create(LoginRequestSchema, { username: "alice", password: "nope" }))) })],
    ["gRPC with a bad token", "search", "/search.v1.SearchService/Do", () => ({ headers: { ...grpc, authorization: "Bearer x.y.z" }, body: envelope(doBinary) })],
  ];
  for (const [name, port, path, init] of h2cases) {
    test(`HTTP/2: ${name}`, async () => {
      const { headers, body } = init();
      const [a, b] = await Promise.all([http2(lean.ports[port]!, path, { headers, body }), http2(stock.ports[port]!, path, { headers, body })]);
      assert.deepEqual(a, b);
    });
  }

  test("the default server took the lean path for the calls above, the stock one never", async () => {
    const served = async (app: typeof lean) => {
      const text = await (await fetch(`${app.searchUrl}/metrics`)).text();
      return Object.fromEntries([...text.matchAll(/^rpc_lean_unary_total\{protocol="(\w+)"\} (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
    };
    const byDefault = await served(lean);
    assert.ok((byDefault.connect ?? 0) > 5 && (byDefault.grpc ?? 0) > 5, JSON.stringify(byDefault));
    assert.deepEqual(await served(stock), {});
  });
});
