import type { DescMethodUnary } from "@bufbuild/protobuf";
import { createContextValues, type ContextValues, type HandlerContext, type MethodImplSpec } from "@connectrpc/connect";

/** One unary method of a service implementation, as `createServiceImplSpec` lists it. */
export type UnaryImplSpec = MethodImplSpec & { kind: "unary"; method: DescMethodUnary };

/** What the caller has already worked out about one unary request, whatever its protocol. */
export interface UnaryCall {
  readonly url: string;
  readonly header: Headers;
  readonly signal: AbortSignal;
  readonly contextValues: ContextValues | undefined;
}

/** The handler context of one unary call: Connect's shape, with the call's own signal and no deadline. */
export function unaryContext(
  spec: UnaryImplSpec,
  call: UnaryCall,
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
