// Clients that send exactly the bytes a test gives them: raw HTTP/1.1 over TCP or TLS, HTTP/2
// through node:http2 (any :authority), and raw HTTP/2 frames for what node:http2 will not send.
import { execFileSync } from "node:child_process";
import http2 from "node:http2";
import { connect as netConnect, type Socket } from "node:net";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";

/** What came back on the wire, minus what differs between any two responses. */
export interface Wire {
  status: number;
  headers: Record<string, string>;
  trailers: Record<string, string>;
  body: Buffer;
}

/** Where to send: a port on 127.0.0.1, optionally over TLS, optionally from another loopback address. */
export interface Target {
  port: number;
  tls?: { ca: Buffer };
  localAddress?: string;
}

export function openSocket(target: Target, alpn?: string[]): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket: Socket = target.tls
      ? tlsConnect({ host: "127.0.0.1", port: target.port, ca: target.tls.ca, servername: "localhost", ALPNProtocols: alpn ?? ["http/1.1"] }, () => resolve(socket))
      : netConnect({ host: "127.0.0.1", port: target.port, localAddress: target.localAddress }, () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Everything the server sent back on one connection until it closed it or `timeoutMs` passed. */
export async function rawExchange(target: Target, bytes: Buffer | string, timeoutMs = 5000): Promise<{ data: Buffer; closed: boolean; ms: number }> {
  const socket = await openSocket(target);
  const started = performance.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let closed = false;
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ data: Buffer.concat(chunks), closed, ms: performance.now() - started });
    });
    socket.on("end", () => (closed = true));
    socket.write(bytes);
  });
}

/**
 * The first final HTTP/1.x response in `data` (1xx skipped): status, headers (lower-cased,
 * repeats joined with ", "), the body as Content-Length or chunked framing gives it (none for
 * HEAD), and chunked trailers; undefined until a whole head with a status line has arrived.
 */
export function parseHttp1(data: Buffer, method = "POST"): Wire | undefined {
  for (let at = 0; ; ) {
    const end = data.indexOf("\r\n\r\n", at);
    if (end < 0) return undefined;
    const [statusLine, ...lines] = data.subarray(at, end).toString("latin1").split("\r\n");
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? "");
    if (!m) return undefined;
    const status = Number(m[1]);
    const headers = fields(lines, true);
    if (status < 200) {
      at = end + 4;
      continue;
    }
    let body = data.subarray(end + 4);
    let trailers: Record<string, string> = {};
    if (method === "HEAD") body = Buffer.alloc(0);
    else if (headers["transfer-encoding"] === "chunked") ({ body, trailers } = dechunk(body));
    else if (headers["content-length"] !== undefined) body = body.subarray(0, Number(headers["content-length"]));
    return { status, headers, trailers, body };
  }
}

/** `name: value` lines as a record of lower-cased names; with `join`, repeats joined with ", ". */
function fields(lines: string[], join: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(":");
    if (i <= 0) continue;
    const k = line.slice(0, i).trim().toLowerCase();
    const v = line.slice(i + 1).trim();
    out[k] = join && out[k] !== undefined ? `${out[k]}, ${v}` : v;
  }
  return out;
}

/** A chunked body's bytes and its trailers. */
function dechunk(data: Buffer): { body: Buffer; trailers: Record<string, string> } {
  const parts: Buffer[] = [];
  for (let rest = data; ; ) {
    const nl = rest.indexOf("\r\n");
    if (nl < 0) return { body: Buffer.concat(parts), trailers: {} };
    const size = parseInt(rest.subarray(0, nl).toString("latin1"), 16);
    if (!(size > 0)) return { body: Buffer.concat(parts), trailers: fields(rest.subarray(nl + 2).toString("latin1").split("\r\n"), false) };
    parts.push(rest.subarray(nl + 2, nl + 2 + size));
    rest = rest.subarray(nl + 2 + size + 2);
  }
}

/** One request over its own HTTP/2 session (h2c, or TLS with ALPN h2), with any headers node:http2 accepts. */
export function h2Exchange(target: Target, headers: http2.OutgoingHttpHeaders, body?: Buffer | string, timeoutMs = 5000): Promise<Wire & { error?: string }> {
  return new Promise((resolve) => {
    const authority = target.tls ? `https://localhost:${target.port}` : `http://127.0.0.1:${target.port}`;
    const session = http2.connect(authority, { ca: target.tls?.ca, localAddress: target.localAddress } as http2.SecureClientSessionOptions);
    const result: Wire & { error?: string } = { status: 0, headers: {}, trailers: {}, body: Buffer.alloc(0) };
    const chunks: Buffer[] = [];
    const finish = (error?: string) => {
      clearTimeout(timer);
      if (error !== undefined) result.error ??= error;
      result.body = Buffer.concat(chunks);
      session.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish("timeout"), timeoutMs);
    session.on("error", (e) => finish(`session: ${e.message}`));
    const stream = session.request({ ":method": "POST", ...headers });
    stream.on("response", (h) => {
      result.status = Number(h[":status"]);
      result.headers = flat(h);
    });
    stream.on("trailers", (t) => (result.trailers = flat(t)));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("error", (e) => finish(`stream: ${e.message}`));
    stream.on("close", () => finish(stream.rstCode ? `rst ${stream.rstCode}` : undefined));
    stream.end(body);
  });
}

function flat(h: http2.IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(Object.entries(h).filter(([k]) => !k.startsWith(":")).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : String(v)]));
}

/** An HTTP/2 frame: 9-byte head (length, type, flags, stream id) and payload. */
export function h2Frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK integer with an `n`-bit prefix (RFC 7541 section 5.1), first byte or'ed with `high`. */
function hpackInt(value: number, n: number, high: number): Buffer {
  const max = (1 << n) - 1;
  if (value < max) return Buffer.from([high | value]);
  const out = [high | max];
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return Buffer.from(out);
}

/** A header block of literal fields without indexing and without Huffman coding. */
export function hpackBlock(fields: [string, string][]): Buffer {
  return Buffer.concat(
    fields.flatMap(([name, value]) => [Buffer.from([0]), hpackInt(name.length, 7, 0), Buffer.from(name, "latin1"), hpackInt(Buffer.byteLength(value, "latin1"), 7, 0), Buffer.from(value, "latin1")]),
  );
}

export const h2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** The frames in `data` (after the server's preface-less start), as type, flags, stream and payload. */
export function parseH2Frames(data: Buffer): { type: number; flags: number; stream: number; payload: Buffer }[] {
  const frames = [];
  for (let at = 0; at + 9 <= data.length; ) {
    const length = data.readUIntBE(at, 3);
    if (at + 9 + length > data.length) break;
    frames.push({ type: data[at + 3]!, flags: data[at + 4]!, stream: data.readUInt32BE(at + 5) & 0x7fffffff, payload: data.subarray(at + 9, at + 9 + length) });
    at += 9 + length;
  }
  return frames;
}

/** A self-signed certificate for localhost and 127.0.0.1, made with openssl in `dir`. */
export function makeCertificate(dir: string): { cert: string; key: string; ca: Buffer } {
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", cert,
  ], { stdio: "ignore" });
  return { cert, key, ca: readFileSync(cert) };
}
