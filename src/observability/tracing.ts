import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type TextMapGetter } from "@opentelemetry/api";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { methodName } from "protogate";
import { callerUserId } from "../auth/caller.js";
import { codeName } from "../errors.js";
import { tracer } from "../lib/tracing.js";
import { protocolOf } from "./protocol.js";

const headers: TextMapGetter<Headers> = {
  keys: (carrier) => [...carrier.keys()],
  get: (carrier, key) => carrier.get(key) ?? undefined,
};

/**
 * The outermost interceptor: a server span per call, named `package.Service/Method`, a child of
 * the caller's W3C `traceparent` when it sends one, with the RPC semantic conventions (system,
 * service, method, the Connect code or gRPC status) and the caller's `enduser.id` once
 * authenticated, never a header or a token. The database, Redis and password hashing add child
 * spans (lib/tracing.ts). Without an OpenTelemetry SDK registered it records nothing.
 */
export function createTracingInterceptor(): Interceptor {
  return (next) => async (req) => {
    const parent = propagation.extract(ROOT_CONTEXT, req.header, headers);
    const grpc = protocolOf(req.header.get("content-type")) !== "connect";
    const span = tracer.startSpan(
      methodName(req.method),
      {
        kind: SpanKind.SERVER,
        attributes: { "rpc.system": grpc ? "grpc" : "connect_rpc", "rpc.service": req.service.typeName, "rpc.method": req.method.name },
      },
      parent,
    );
    if (!span.isRecording()) return next(req);
    const finish = (code: Code | undefined) => {
      const userId = callerUserId(req.contextValues);
      if (userId !== undefined) span.setAttribute("enduser.id", String(userId));
      if (grpc) span.setAttribute("rpc.grpc.status_code", code ?? 0);
      else if (code !== undefined) span.setAttribute("rpc.connect_rpc.error_code", codeName(code));
      if (code !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: codeName(code) });
      span.end();
    };
    try {
      const res = await context.with(trace.setSpan(parent, span), () => next(req));
      finish(undefined);
      return res;
    } catch (err) {
      finish(ConnectError.from(err).code);
      throw err;
    }
  };
}

/** The trace id of the call in progress, for its log lines; undefined when nothing is traced. */
export function activeTraceId(): string | undefined {
  const ctx = trace.getActiveSpan()?.spanContext();
  return ctx !== undefined && trace.isSpanContextValid(ctx) ? ctx.traceId : undefined;
}
