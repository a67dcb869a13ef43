// Generated hostile requests for the HTTP edge, how to send them, and what every answer must be.
// Used by test/http/fuzz.test.ts (a fixed seed, a few hundred runs) and scripts/fuzz.ts (long runs).
import http2 from "node:http2";
import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { DoRequestSchema } from "../../src/gen/search/v1/search_pb.js";
import { LoginRequestSchema } from "../../src/gen/user/v1/user_pb.js";
import { openSocket, parseHttp1, type Target } from "./wire-clients.js";

export type Transport = "h1" | "h2" | "h1-tls" | "h2-tls";

/** One generated request, as it goes on the wire. */
export interface FuzzRequest {
  transport: Transport;
  port: "user" | "search";
  method: string;
  path: string;
  /** `Host` (HTTP/1.x) or `:authority` (HTTP/2); undefined: none sent (HTTP/1.x only). */
  authority: string | undefined;
  version: "1.1" | "1.0";
  headers: [string, string][];
  body: Uint8Array;
  /** How the body's length is told (HTTP/1.x): honestly, not at all, chunked, or a lie. */
  framing: "length" | "none" | "chunked" | "short" | "long";
}

/** What came back, normalised so two servers' answers to one request compare equal. */
export interface FuzzAnswer {
  /** `unsent`: node:http2 refused to send the request at all, so nothing reached the server. */
  kind: "answer" | "closed" | "reset" | "hang" | "unsent";
  status: number;
  headers: Record<string, string>;
  trailers: Record<string, string>;
  body: string;
}

const paths: ["user" | "search", string][] = [
  ["user", "/user.v1.UserService/Login"],
  ["user", "/user.v1.UserService/Refresh"],
  ["user", "/user.v1.UserService/Logout"],
  ["search", "/search.v1.SearchService/Do"],
  ["search", "/search.v1.SearchService/Ping"],
  ["search", "/grpc.health.v1.Health/Check"],
  ["search", "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"],
  ["search", "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"],
  ["search", "/search.v1.SearchService/Nope"],
  ["user", "/.well-known/jwks.json"],
  ["search", "/healthz"],
  ["search", "/readyz"],
  ["search", "/"],
];

const contentTypes = [
  "application/json",
  "application/json; charset=utf-8",
  "application/proto",
  "application/grpc",
  "application/grpc+proto",
  "application/grpc+json",
  "application/grpc-web",
  "application/grpc-web+proto",
  "application/grpc-web+json",
  "application/grpc-web-text",
  "application/connect+json",
  "application/connect+proto",
  "text/plain",
  "APPLICATION/JSON",
  "application/json;charset=latin1",
  "",
];

// characters Node's HTTP/1.1 parser lets through in a header value, including bytes above 0x7f
const hostChars = fc.constantFrom(..."abz09.-:[]@%/ ?#\\\t_~!$&'()*+,;=\x80\xe9\xff".split(""));
const authority = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("localhost", "127.0.0.1", "localhost:8889", "[::1]:80") },
  { weight: 3, arbitrary: fc.string({ unit: hostChars, minLength: 0, maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom("a b", "a:99999", "[", "a%zz", "a:-1", "[::1", "a@b:c", "%", "xn--", ".", ":") },
);

const token = fc.oneof(
  fc.constantFrom("VALID", "x.y.z", "", "Bearer", "Basic dXNlcjpwYXNz", "Bearer a.b.c", "Bearer VALID", "VALID VALID"),
  fc.string({ unit: fc.constantFrom(..."ABCxyz019-_.=+/ ".split("")), maxLength: 40 }),
);

const headerValue = fc.string({ unit: fc.constantFrom(..."abcXYZ0129 ,;=-_./:%\t\x80\xff".split("")), maxLength: 20 });

const extraHeader: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(fc.constant("authorization"), token),
  fc.tuple(fc.constant("connect-protocol-version"), fc.constantFrom("1", "2", "", "x")),
  fc.tuple(fc.constantFrom("connect-timeout-ms", "grpc-timeout"), fc.constantFrom("5000", "0", "-1", "1S", "99999999999", "5M", "x", "1n", "")),
  fc.tuple(fc.constantFrom("content-encoding", "connect-content-encoding", "grpc-encoding"), fc.constantFrom("gzip", "br", "identity", "zstd", "", "gzip, br")),
  fc.tuple(fc.constantFrom("accept-encoding", "connect-accept-encoding", "grpc-accept-encoding"), fc.constantFrom("gzip", "br", "zstd", "*", "")),
  fc.tuple(fc.constant("te"), fc.constantFrom("trailers", "gzip")),
  fc.tuple(fc.constant("x-request-id"), headerValue),
  fc.tuple(fc.constant("origin"), fc.constantFrom("https://app.example.com", "null", "x")),
  fc.tuple(fc.constant("x-forwarded-for"), fc.constantFrom("1.2.3.4", "::1, 10.0.0.1", "x", "")),
  fc.tuple(fc.constantFrom("x-junk", "cookie", "grpc-status", "connect-content-length"), headerValue),
);

const doBinary = toBinary(DoRequestSchema, create(DoRequestSchema, { name: "go-zero" }));
const loginBinary = toBinary(LoginRequestSchema, create(LoginRequestSchema, { username: "alice", password: "wrong-password" }));

function envelope(flags: number, message: Uint8Array, declared = message.length): Uint8Array {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(declared >>> 0, 1);
  return Buffer.concat([head, message]);
}

const message = fc.oneof(
  fc.constantFrom(doBinary, loginBinary, new Uint8Array(0), Buffer.from('{"name":"go-zero"}'), Buffer.from('{"username":"alice","password":"x"}'), Buffer.from("{}")),
  fc.uint8Array({ maxLength: 40 }),
  fc.string({ maxLength: 30 }).map((s) => Buffer.from(s)),
  fc.constantFrom(Buffer.from('{"name":'), Buffer.from('{"name":"\\ud800"}'), Buffer.from('{"title":"x"}'), Buffer.from('{"name":1e999}'), Buffer.from("[]"), Buffer.from("null")),
);

const body: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 3, arbitrary: message },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom(0, 0, 1, 2, 0x80, 0x81, 0xff), message).map(([f, m]) => envelope(f, m)) },
  { weight: 1, arbitrary: fc.tuple(message, fc.integer({ min: 0, max: 0xffffffff })).map(([m, n]) => envelope(0, m, n)) },
  { weight: 1, arbitrary: fc.tuple(message, message).map(([a, b]) => Buffer.concat([envelope(0, a), envelope(0, b)])) },
  { weight: 1, arbitrary: message.map((m) => gzipSync(m)) },
  { weight: 1, arbitrary: message.map((m) => envelope(1, gzipSync(m))) },
  { weight: 1, arbitrary: fc.tuple(message, fc.nat(20)).map(([m, cut]) => gzipSync(m).subarray(0, cut)) },
  { weight: 1, arbitrary: fc.nat(70_000).map((n) => Buffer.alloc(n, 0x20)) },
);

/** Requests of every shape: method, target, authority, content type, headers, body and framing. */
export function fuzzRequest(transports: readonly Transport[]): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      transport: fc.constantFrom(...transports),
      target: fc.constantFrom(...paths),
      query: fc.oneof({ weight: 5, arbitrary: fc.constant("") }, { weight: 1, arbitrary: fc.constantFrom("?connect=v1&encoding=json&message=%7B%7D", "?", "?a=%zz", "#x") }),
      method: fc.oneof({ weight: 8, arbitrary: fc.constant("POST") }, { weight: 2, arbitrary: fc.constantFrom("GET", "PUT", "OPTIONS", "HEAD", "DELETE", "PATCH", "TRACE", "FOO") }),
      authority,
      dropAuthority: fc.boolean(),
      version: fc.constantFrom("1.1", "1.1", "1.1", "1.0"),
      contentType: fc.constantFrom(...contentTypes),
      headers: fc.array(extraHeader, { maxLength: 4 }),
      body,
      framing: fc.constantFrom("length", "length", "length", "none", "chunked", "short", "long"),
    })
    .map((r) => {
      const h2 = r.transport.startsWith("h2");
      return {
        transport: r.transport,
        port: r.target[0],
        method: r.method,
        path: r.target[1] + r.query,
        authority: r.dropAuthority && !h2 ? undefined : r.authority,
        version: h2 ? "1.1" : r.version,
        headers: [...(r.contentType === "" ? [] : ([["content-type", r.contentType]] as [string, string][])), ...r.headers],
        body: r.body,
        framing: h2 ? "length" : r.framing,
      } satisfies FuzzRequest;
    });
}

/** The request with `VALID` in its headers replaced by a real access token. */
function withToken(req: FuzzRequest, accessToken: string): [string, string][] {
  return req.headers.map(([k, v]) => [k, v.replaceAll("VALID", accessToken)]);
}

const dropped = new Set(["date", "x-request-id", "connection", "keep-alive", "transfer-encoding"]);

function keep(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers)
      .filter(([k]) => !k.startsWith(":") && !dropped.has(k))
      .map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : String(v)])
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

/** A body as base64, less the request id a gRPC-Web trailer message carries (it differs per call). */
function comparable(headers: Record<string, string>, body: Buffer): string {
  if (!(headers["content-type"] ?? "").startsWith("application/grpc-web")) return body.toString("base64");
  return Buffer.from(body.toString("latin1").replace(/x-request-id: [^\r]*\r\n/g, ""), "latin1").toString("base64");
}

/** Sends one request to `target` and waits for its answer, the connection's end, or `timeoutMs`. */
export function sendFuzzRequest(req: FuzzRequest, target: Target, accessToken: string, timeoutMs: number): Promise<FuzzAnswer> {
  return req.transport.startsWith("h2") ? sendH2(req, target, accessToken, timeoutMs) : sendH1(req, target, accessToken, timeoutMs);
}

async function sendH1(req: FuzzRequest, target: Target, accessToken: string, timeoutMs: number): Promise<FuzzAnswer> {
  const lines = [`${req.method} ${req.path} HTTP/${req.version}`];
  if (req.authority !== undefined) lines.push(`Host: ${req.authority}`);
  for (const [k, v] of withToken(req, accessToken)) lines.push(`${k}: ${v}`);
  let payload = Buffer.from(req.body);
  if (req.framing === "length") lines.push(`Content-Length: ${payload.length}`);
  if (req.framing === "short") lines.push(`Content-Length: ${Math.max(0, payload.length - 3)}`);
  if (req.framing === "long") lines.push(`Content-Length: ${payload.length + 3}`);
  if (req.framing === "chunked") {
    lines.push("Transfer-Encoding: chunked");
    payload = Buffer.concat([Buffer.from(payload.length > 0 ? `${payload.length.toString(16)}\r\n` : ""), payload, Buffer.from(payload.length > 0 ? "\r\n0\r\n\r\n" : "0\r\n\r\n")]);
  }
  lines.push("Connection: close");
  const bytes = Buffer.concat([Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1"), payload]);
  const socket = await openSocket(target);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(h1Answer(Buffer.concat(chunks), req.method, true));
    }, timeoutMs);
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(h1Answer(Buffer.concat(chunks), req.method, false));
    });
    // a body cut short ends with the client's half of the connection; anything else is answered
    // and closed by the server (Connection: close), since a FIN reads as the client going away
    if (req.framing === "long") socket.end(bytes);
    else socket.write(bytes);
  });
}

function h1Answer(data: Buffer, method: string, timedOut: boolean): FuzzAnswer {
  const res = parseHttp1(data, method);
  if (res === undefined) return { kind: timedOut ? "hang" : "closed", status: 0, headers: {}, trailers: {}, body: "" };
  return { kind: "answer", status: res.status, headers: keep(res.headers), trailers: keep(res.trailers), body: comparable(res.headers, res.body) };
}

function sendH2(req: FuzzRequest, target: Target, accessToken: string, timeoutMs: number): Promise<FuzzAnswer> {
  return new Promise((resolve) => {
    const origin = target.tls ? `https://localhost:${target.port}` : `http://127.0.0.1:${target.port}`;
    const session = http2.connect(origin, { ca: target.tls?.ca });
    const answer: FuzzAnswer = { kind: "answer", status: 0, headers: {}, trailers: {}, body: "" };
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (kind?: FuzzAnswer["kind"]) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (kind !== undefined) answer.kind = kind;
      answer.body = comparable(answer.headers, Buffer.concat(chunks));
      session.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => finish(answer.status === 0 ? "hang" : undefined), timeoutMs);
    session.on("error", () => finish(answer.status === 0 ? "closed" : undefined));
    session.on("close", () => finish(answer.status === 0 ? "closed" : undefined));
    const headers: http2.OutgoingHttpHeaders = { ":method": req.method, ":path": req.path, ":authority": req.authority ?? "" };
    for (const [k, v] of withToken(req, accessToken)) headers[k] = headers[k] === undefined ? v : `${String(headers[k])}, ${v}`;
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(headers);
    } catch {
      // node:http2 refused to send these headers at all: nothing reached the server
      return finish("unsent");
    }
    stream.on("response", (h) => {
      answer.status = Number(h[":status"]);
      answer.headers = keep(h);
    });
    stream.on("trailers", (t) => (answer.trailers = keep(t)));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("error", () => undefined);
    stream.on("close", () => finish(answer.status === 0 ? "reset" : undefined));
    stream.end(req.body);
  });
}

/**
 * Why an answer breaks the edge's promise, or undefined when it keeps it: a 5xx, a gRPC status
 * UNKNOWN or INTERNAL (in headers, trailers or a gRPC-Web trailer message), a Connect error
 * `internal`/`unknown`, a hang, or a connection closed without an answer to a request that was
 * complete. (A request whose declared length was more than it sent, cut off by the client, may
 * get none.)
 */
export function brokenPromise(req: FuzzRequest, answer: FuzzAnswer): string | undefined {
  if (answer.kind === "hang") return "no answer and no close within the timeout";
  if (answer.kind === "closed" && req.framing !== "long") return "closed without an answer";
  if (answer.kind !== "answer") return undefined;
  if (answer.status >= 500) return `HTTP ${answer.status}`;
  const grpc = answer.trailers["grpc-status"] ?? answer.headers["grpc-status"];
  if (grpc === "2" || grpc === "13") return `grpc-status ${grpc}`;
  const body = Buffer.from(answer.body, "base64");
  const type = answer.headers["content-type"] ?? "";
  if (type.startsWith("application/grpc-web") && /grpc-status: (2|13)\r\n/.test(body.toString("latin1"))) return "gRPC-Web trailer status UNKNOWN/INTERNAL";
  if (/"code":"(internal|unknown)"/.test(body.toString("latin1"))) return "Connect error internal/unknown";
  return undefined;
}

/** A request in a line, its body cut to 48 bytes: for failure reports. */
export function describeRequest(req: FuzzRequest): string {
  const body = Buffer.from(req.body);
  const shown = body.length > 48 ? `${body.subarray(0, 48).toString("hex")}... (${body.length} bytes)` : body.toString("hex");
  return JSON.stringify({ ...req, body: shown });
}

/** What a failed run says: the request, what went wrong, and how to replay it. */
export function failureReport(result: fc.RunDetails<[FuzzRequest]>): string {
  const req = result.counterexample?.[0];
  const error = result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance);
  return `${req ? describeRequest(req) : "(no counterexample)"}\n${error.slice(0, 2000)}\nreplay: seed ${result.seed}, path ${result.counterexamplePath}`;
}

/**
 * Whether the request's bytes are exactly one request. A body cut short (the client half-closes
 * before its declared length) or bytes past the declared length (read as a next, broken request)
 * are answered when each path notices: Connect's path may refuse a gRPC envelope from its head
 * alone while the lean path reads first. Only exact requests are compared between the paths.
 */
export function exactlyFramed(req: FuzzRequest): boolean {
  if (req.framing === "length" || req.framing === "chunked") return true;
  return req.framing !== "long" && req.body.length === 0;
}
