import { Code, ConnectError } from "@connectrpc/connect";
import { compressionNegotiate, createMethodSerializationLookup, invokeUnaryImplementation, readAllBytes, type UniversalHandlerOptions } from "@connectrpc/connect/protocol";
import {
  contentTypeUnaryJson,
  contentTypeUnaryProto,
  errorToJsonBytes,
  headerUnaryAcceptEncoding,
  headerUnaryContentLength,
  headerUnaryEncoding,
  parseContentType,
} from "@connectrpc/connect/protocol-connect";
import { asCallerFault, httpStatusOf } from "../caller-fault.js";
import { createFlatJsonSerialization } from "./flat-json.js";
import { lightHeaders } from "./light-headers.js";
import { unaryContext, type UnaryCall, type UnaryImplSpec } from "./unary-context.js";

/** A Connect unary call: the common parts, its format and its body. */
export interface ConnectUnaryCall extends UnaryCall {
  /** Binary (`application/proto`) rather than JSON, from {@link plainConnectUnaryFormat}. */
  readonly binary: boolean;
  readonly body: AsyncIterable<Uint8Array>;
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

/**
 * Serves one unary method over the Connect protocol with Connect's own parts — its options
 * (validated by Connect), serialization (JSON with the flat-message shortcut of
 * `flat-json.ts`), compression negotiation, interceptor invocation,
 * error JSON, status mapping and trailer folding — but without a handler context of signals:
 * the call's signal is the one given (aborted only when the client goes away), so nothing is
 * aborted, and no DOMException made, when a call ends normally. `test/wire-equivalence.test.ts`
 * holds its answers byte for byte to Connect's handler.
 */
export function createConnectUnary(
  opt: UniversalHandlerOptions,
  spec: UnaryImplSpec,
): (call: ConnectUnaryCall) => Promise<ConnectUnaryResult> {
  const connect = createMethodSerializationLookup(spec.method, opt.binaryOptions, opt.jsonOptions, opt);
  const jsonIn = createFlatJsonSerialization(spec.method.input, opt, connect.getI(false));
  const jsonOut = createFlatJsonSerialization(spec.method.output, opt, connect.getO(false));
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
      const input = (binary ? connect.getI(true) : jsonIn).parse(bytes);
      const output = await invokeUnaryImplementation(spec, context, input, opt.interceptors);
      body = (binary ? connect.getO(true) : jsonOut).serialize(output);
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
