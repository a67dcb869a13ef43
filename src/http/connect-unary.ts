import type { DescMethodUnary } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type ContextValues, type HandlerContext, type MethodImplSpec } from "@connectrpc/connect";
import {
  compressedFlag,
  compressionNegotiate,
  createMethodSerializationLookup,
  encodeEnvelope,
  invokeUnaryImplementation,
  readAllBytes,
  type UniversalHandlerOptions,
} from "@connectrpc/connect/protocol";
import {
  contentTypeUnaryJson,
  contentTypeUnaryProto,
  errorToJsonBytes,
  headerUnaryAcceptEncoding,
  headerUnaryContentLength,
  headerUnaryEncoding,
  parseContentType,
} from "@connectrpc/connect/protocol-connect";
import {
  contentTypeProto as grpcContentTypeProto,
  grpcStatusOk,
  headerAcceptEncoding as grpcHeaderAcceptEncoding,
  headerEncoding as grpcHeaderEncoding,
  headerGrpcStatus as grpcHeaderStatus,
  setTrailerStatus,
} from "@connectrpc/connect/protocol-grpc";
import { asCallerFault, httpStatusOf } from "./caller-fault.js";
import { lightHeaders } from "./light-headers.js";

/**
 * The @connectrpc/connect release whose unary handling this module mirrors: its protocol
 * parts are assembled here in the order its own handler uses them (connect-es
 * `protocol-connect/handler-factory.ts` and `protocol-grpc/handler-factory.ts`, 2.1.2).
 * `test/http/lean-unary-version.test.ts` fails when the installed version differs, so an
 * upgrade forces a review of this copy against the new release (and of
 * `test/wire-equivalence.test.ts`, which holds the two byte for byte).
 */
export const mirroredConnectVersion = "2.1.2";

/** What the caller has already worked out about one request. */
export interface ConnectUnaryCall {
  readonly url: string;
  /** Binary (`application/proto`) rather than JSON, from {@link plainConnectUnaryFormat}. */
  readonly binary: boolean;
  readonly header: Headers;
  readonly body: AsyncIterable<Uint8Array>;
  readonly signal: AbortSignal;
  readonly contextValues: ContextValues | undefined;
}

/** A finished response: status, headers (trailers already folded in, as the protocol says) and body. */
export interface ConnectUnaryResult {
  readonly status: number;
  readonly header: Headers;
  readonly body: Uint8Array;
}

/**
 * The format of a request {@link createConnectUnary} serves — a Connect unary POST with a unary
 * content type and no timeout header — or undefined for anything else (GET, gRPC, gRPC-Web,
 * streaming content types, deadlines), which stays with Connect's own handler.
 */
export function plainConnectUnaryFormat(method: string | undefined, contentType: string | undefined, timeout: string | undefined): { binary: boolean } | undefined {
  if (method !== "POST" || contentType === undefined || timeout !== undefined) return undefined;
  const type = parseContentType(contentType);
  return type === undefined || type.stream ? undefined : { binary: type.binary };
}

/** The handler context of one unary call: Connect's shape, with the call's own signal and no deadline. */
function unaryContext(
  spec: { method: DescMethodUnary },
  call: Omit<ConnectUnaryCall, "body" | "binary">,
  protocolName: string,
  responseHeader: Headers,
  responseTrailer: Headers,
): HandlerContext {
  return {
    method: spec.method,
    service: spec.method.parent,
    signal: call.signal,
    timeoutMs: () => undefined,
    requestMethod: "POST",
    requestHeader: call.header,
    responseHeader,
    responseTrailer,
    protocolName,
    values: call.contextValues ?? createContextValues(),
    url: call.url,
  };
}

/**
 * Serves one unary method over the Connect protocol with Connect's own parts — its options
 * (validated by Connect), serialization, compression negotiation, interceptor invocation,
 * error JSON, status mapping and trailer folding — but without a handler context of signals:
 * the call's signal is the one given (aborted only when the client goes away), so nothing is
 * aborted, and no DOMException made, when a call ends normally. `test/wire-equivalence.test.ts`
 * holds its answers byte for byte to Connect's handler.
 */
export function createConnectUnary(
  opt: UniversalHandlerOptions,
  spec: MethodImplSpec & { kind: "unary"; method: DescMethodUnary },
): (call: ConnectUnaryCall) => Promise<ConnectUnaryResult> {
  const serialization = createMethodSerializationLookup(spec.method, opt.binaryOptions, opt.jsonOptions, opt);
  return async (call) => {
    const { binary } = call;
    const contentType = binary ? contentTypeUnaryProto : contentTypeUnaryJson;
    const context = unaryContext(spec, call, "connect", lightHeaders({ "content-type": contentType }), lightHeaders());
    const compression = compressionNegotiate(
      opt.acceptCompression,
      call.header.get(headerUnaryEncoding),
      call.header.get(headerUnaryAcceptEncoding),
      headerUnaryAcceptEncoding,
    );
    let status = 200;
    let body: Uint8Array;
    try {
      if (compression.error) throw compression.error;
      let bytes = await readAllBytes(call.body, opt.readMaxBytes, call.header.get(headerUnaryContentLength));
      if (compression.request) bytes = await compression.request.decompress(bytes, opt.readMaxBytes);
      const input = serialization.getI(binary).parse(bytes);
      const output = await invokeUnaryImplementation(spec, context, input, opt.interceptors);
      body = serialization.getO(binary).serialize(output);
    } catch (e) {
      const error = e instanceof ConnectError ? asCallerFault(e) : new ConnectError("internal error", Code.Internal, undefined, undefined, e);
      status = httpStatusOf(error);
      context.responseHeader.set("content-type", contentTypeUnaryJson);
      error.metadata.forEach((value, key) => context.responseHeader.set(key, value));
      body = errorToJsonBytes(error, opt.jsonOptions);
    }
    if (compression.response && body.byteLength >= opt.compressMinBytes) {
      body = await compression.response.compress(body);
      context.responseHeader.set(headerUnaryEncoding, compression.response.name);
    }
    // trailers travel as "trailer-" headers in Connect unary (Connect's trailerMux, in place)
    const header = context.responseHeader;
    context.responseTrailer.forEach((value, key) => header.append(`trailer-${key}`, value));
    header.set(headerUnaryContentLength, body.byteLength.toString(10));
    return { status, header, body };
  };
}

/** A finished gRPC response: headers, one enveloped message or none, and the status trailers. */
export interface GrpcUnaryResult {
  readonly status: number;
  readonly header: Headers;
  readonly trailer: Headers;
  readonly body: Uint8Array;
}

/**
 * Tells whether a request is one {@link createGrpcUnary} serves: a gRPC (binary) POST over
 * HTTP/2 without a deadline or a request encoding. Anything else stays with Connect's handler.
 */
export function isPlainGrpcUnary(httpVersion: string, method: string | undefined, headers: Record<string, string | string[] | undefined>): boolean {
  if (httpVersion !== "2.0" || method !== "POST" || headers["grpc-timeout"] !== undefined) return false;
  const encoding = headers["grpc-encoding"];
  if (encoding !== undefined && encoding !== "identity") return false;
  const type = headers["content-type"];
  return type === "application/grpc" || type === "application/grpc+proto";
}

/**
 * The single uncompressed message of a gRPC request body, when that is exactly what the body
 * is; undefined for anything else (several or partial envelopes, a compressed one, a message
 * over the limit), which Connect's own envelope handling answers.
 */
export function singleEnvelope(body: Buffer, readMaxBytes: number): Uint8Array | undefined {
  if (body.length < 5 || body[0] !== 0) return undefined;
  const length = body.readUInt32BE(1);
  if (length !== body.length - 5 || length > readMaxBytes) return undefined;
  return body.subarray(5);
}

/**
 * Serves one unary method over gRPC with Connect's own parts (serialization, compression
 * negotiation, interceptor invocation, trailer status), for a request body that is a single
 * uncompressed message (see {@link singleEnvelope}); like {@link createConnectUnary} it makes
 * no per-call handler context of signals.
 */
export function createGrpcUnary(
  opt: UniversalHandlerOptions,
  spec: MethodImplSpec & { kind: "unary"; method: DescMethodUnary },
): (call: Omit<ConnectUnaryCall, "body" | "binary"> & { message: Uint8Array }) => Promise<GrpcUnaryResult> {
  const serialization = createMethodSerializationLookup(spec.method, opt.binaryOptions, opt.jsonOptions, opt);
  return async (call) => {
    const context = unaryContext(
      spec,
      call,
      "grpc",
      lightHeaders({ "content-type": grpcContentTypeProto }),
      lightHeaders({ [grpcHeaderStatus]: grpcStatusOk.toString() }),
    );
    const compression = compressionNegotiate(opt.acceptCompression, call.header.get(grpcHeaderEncoding), call.header.get(grpcHeaderAcceptEncoding), grpcHeaderAcceptEncoding);
    if (compression.response) context.responseHeader.set(grpcHeaderEncoding, compression.response.name);
    let body: Uint8Array = new Uint8Array(0);
    try {
      if (compression.error) throw compression.error;
      const input = serialization.getI(true).parse(call.message);
      const output = serialization.getO(true).serialize(await invokeUnaryImplementation(spec, context, input, opt.interceptors));
      body =
        compression.response && output.byteLength >= opt.compressMinBytes
          ? encodeEnvelope(compressedFlag, await compression.response.compress(output))
          : encodeEnvelope(0, output);
    } catch (e) {
      setTrailerStatus(context.responseTrailer, e instanceof ConnectError ? asCallerFault(e) : new ConnectError("internal error", Code.Internal, undefined, undefined, e));
    }
    return { status: 200, header: context.responseHeader, trailer: context.responseTrailer, body };
  };
}
