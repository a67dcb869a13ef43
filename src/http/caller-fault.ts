import { Code, ConnectError } from "@connectrpc/connect";
import { encodeEnvelope, type UniversalServerResponse } from "@connectrpc/connect/protocol";
import { codeToHttpStatus, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";

/**
 * Errors Connect raises as `internal` although the request caused them: a body that does not
 * decode as the method's protobuf message, a compressed body or envelope that does not
 * decompress (truncated gzip), a compressed envelope with no encoding named. Each is the
 * caller's fault, so it is answered `invalid_argument` (as connect-go does); `internal` is
 * kept for faults of ours.
 */
const callerFaultMessages = ["parse binary: ", "decompression failed", "received compressed envelope, but do not know how to decompress"];

function isCallerFaultMessage(message: string): boolean {
  return callerFaultMessages.some((m) => message.startsWith(m));
}

/** The error as the caller should see it: `invalid_argument` for a caller's fault, else itself. */
export function asCallerFault(error: ConnectError): ConnectError {
  if (error.code !== Code.Internal || !isCallerFaultMessage(error.rawMessage)) return error;
  return new ConnectError(error.rawMessage, Code.InvalidArgument, error.metadata);
}

/**
 * The HTTP status of a Connect error: Connect's own mapping, except that an encoding the server
 * does not support (`unimplemented`, as the spec says) is 415 Unsupported Media Type (RFC 9110
 * section 15.5.16 names Content-Encoding), not 501: the request, not the server, is at fault.
 */
export function httpStatusOf(error: ConnectError): number {
  if (error.code === Code.Unimplemented && error.rawMessage.startsWith("unknown compression")) return 415;
  return codeToHttpStatus(error.code);
}

/** Whether a `grpc-message` value (percent-encoded, as gRPC sends it) names a caller's fault. */
function isCallerFaultGrpcMessage(encoded: string): boolean {
  try {
    return isCallerFaultMessage(decodeURIComponent(encoded));
  } catch {
    return false;
  }
}

/** gRPC trailers (Headers) with a caller's fault made `invalid_argument`. */
function fixGrpcTrailer(trailer: Headers): void {
  if (trailer.get("grpc-status") === "13" && isCallerFaultGrpcMessage(trailer.get("grpc-message") ?? "")) {
    trailer.set("grpc-status", String(Code.InvalidArgument));
  }
}

function fixGrpcWebTrailer(chunk: Uint8Array): Uint8Array {
  // an uncompressed trailer envelope: flag 0x80, length, "name: value\r\n" lines
  if (chunk.length < 5 || chunk[0] !== 0x80) return chunk;
  const lines = Buffer.from(chunk.buffer, chunk.byteOffset + 5, chunk.length - 5).toString("latin1").split("\r\n");
  const message = lines.find((l) => l.startsWith("grpc-message: "))?.slice("grpc-message: ".length);
  if (!lines.includes("grpc-status: 13") || message === undefined || !isCallerFaultGrpcMessage(message)) return chunk;
  const fixed = lines.map((l) => (l === "grpc-status: 13" ? `grpc-status: ${Code.InvalidArgument}` : l)).join("\r\n");
  return encodeEnvelope(0x80, Buffer.from(fixed, "latin1"));
}

function fixConnectEndStream(chunk: Uint8Array): Uint8Array {
  // an uncompressed end-of-stream envelope: flag 0x02, length, {"error": {...}, "metadata": {...}}
  if (chunk.length < 5 || chunk[0] !== 0x02) return chunk;
  let end: { error?: { code?: unknown; message?: unknown } };
  try {
    end = JSON.parse(Buffer.from(chunk.buffer, chunk.byteOffset + 5, chunk.length - 5).toString("utf8")) as typeof end;
  } catch {
    return chunk;
  }
  if (end.error?.code !== "internal" || typeof end.error.message !== "string" || !isCallerFaultMessage(end.error.message)) return chunk;
  end.error.code = "invalid_argument";
  return encodeEnvelope(0x02, Buffer.from(JSON.stringify(end), "utf8"));
}

async function* mapBody(body: AsyncIterable<Uint8Array>, chunk: (c: Uint8Array) => Uint8Array, end?: () => void): AsyncIterable<Uint8Array> {
  for await (const c of body) yield chunk(c);
  end?.();
}

async function* one(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

/**
 * A response of Connect's own handler with a caller's fault (see {@link asCallerFault]) made
 * `invalid_argument` on each protocol: a Connect unary error body, a Connect end-of-stream
 * message, gRPC trailers, a gRPC-Web trailer envelope.
 */
export async function withCallerFaults(res: UniversalServerResponse, jsonOptions: Parameters<typeof errorToJsonBytes>[1]): Promise<UniversalServerResponse> {
  const type = res.header?.get("content-type") ?? "";
  const body = res.body as AsyncIterable<Uint8Array> | undefined;
  if (body === undefined) return res;
  // a unary error body may be compressed as a whole; stream envelopes say so in their own flags
  if ((res.status === 500 || res.status === 501) && type === "application/json" && !res.header?.has("content-encoding")) {
    const parts: Uint8Array[] = [];
    for await (const c of body) parts.push(c);
    const bytes = Buffer.concat(parts);
    let sent: { code?: unknown; message?: unknown } = {};
    try {
      sent = JSON.parse(bytes.toString("utf8")) as typeof sent;
    } catch {
      // not an error body we made
    }
    const code = sent.code === "internal" ? Code.Internal : sent.code === "unimplemented" ? Code.Unimplemented : undefined;
    if (code === undefined || typeof sent.message !== "string") return { ...res, body: one(bytes) };
    const error = asCallerFault(new ConnectError(sent.message, code));
    const status = httpStatusOf(error);
    if (error.code === code && status === res.status) return { ...res, body: one(bytes) };
    const fixed = error.code === code ? bytes : errorToJsonBytes(error, jsonOptions);
    const header = new Headers(res.header);
    header.set("content-length", String(fixed.byteLength));
    return { ...res, status, header, body: one(fixed) };
  }
  if (type.startsWith("application/connect+")) return { ...res, body: mapBody(body, fixConnectEndStream) };
  if (type.startsWith("application/grpc-web")) return { ...res, body: mapBody(body, fixGrpcWebTrailer) };
  if (type.startsWith("application/grpc") && res.trailer !== undefined) {
    const trailer = res.trailer;
    return { ...res, body: mapBody(body, (c) => c, () => fixGrpcTrailer(trailer)) };
  }
  return res;
}
