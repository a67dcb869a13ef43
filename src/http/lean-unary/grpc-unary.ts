import { Code, ConnectError } from "@connectrpc/connect";
import { compressedFlag, compressionNegotiate, createMethodSerializationLookup, encodeEnvelope, invokeUnaryImplementation, type UniversalHandlerOptions } from "@connectrpc/connect/protocol";
import {
  contentTypeProto as grpcContentTypeProto,
  grpcStatusOk,
  headerAcceptEncoding as grpcHeaderAcceptEncoding,
  headerEncoding as grpcHeaderEncoding,
  headerGrpcStatus as grpcHeaderStatus,
  setTrailerStatus,
} from "@connectrpc/connect/protocol-grpc";
import { asCallerFault } from "../caller-fault.js";
import { lightHeaders } from "./light-headers.js";
import { unaryContext, type UnaryCall, type UnaryImplSpec } from "./unary-context.js";

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
 * uncompressed message (see {@link singleEnvelope}); like the Connect unary path it makes
 * no per-call handler context of signals.
 */
export function createGrpcUnary(
  opt: UniversalHandlerOptions,
  spec: UnaryImplSpec,
): (call: UnaryCall & { readonly message: Uint8Array }) => Promise<GrpcUnaryResult> {
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
