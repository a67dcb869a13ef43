import { randomUUID } from "node:crypto";
import { ConnectError, type Interceptor } from "@connectrpc/connect";
import { methodName } from "protogate";
import { callerUserId } from "../auth/caller.js";
import { codeName } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "./metrics.js";
import { protocolOf } from "./protocol.js";
import { activeTraceId } from "./tracing.js";


/**
 * Inside the tracing interceptor: one structured access-log line per call (method, protocol, code,
 * duration, the caller's userId once authenticated, request id, the trace id when the call is
 * traced, `httpMethod` for a GET; never
 * a header or a token) and
 * the call metrics. The request id is the caller's `x-request-id` when it sends a sane one,
 * otherwise a fresh one; either way it is returned in the `x-request-id` response header.
 */
export function createAccessLogInterceptor(logger: Logger, metrics: Metrics): Interceptor {
  return (next) => async (req) => {
    const started = process.hrtime.bigint();
    const sent = req.header.get("x-request-id");
    const requestId = sent !== null && /^[A-Za-z0-9._-]{1,64}$/.test(sent) ? sent : randomUUID();
    const method = methodName(req.method);
    const finish = (code: string) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.call(method, code, seconds);
      if (!logger.isLevelEnabled("info")) return; // the hot path builds no line nobody will read
      logger.info(
        {
          method,
          protocol: protocolOf(req.header.get("content-type")),
          code,
          ms: Math.round(seconds * 1e6) / 1e3,
          userId: callerUserId(req.contextValues),
          requestId,
          traceId: activeTraceId(),
          // a Connect GET (a NO_SIDE_EFFECTS method) says so; a POST, the rule, says nothing
          ...(req.requestMethod === "GET" ? { httpMethod: "GET" } : undefined),
        },
        "rpc",
      );
    };
    try {
      const res = await next(req);
      res.header.set("x-request-id", requestId);
      finish("ok");
      return res;
    } catch (err) {
      const e = ConnectError.from(err);
      e.metadata.set("x-request-id", requestId);
      finish(codeName(e.code));
      throw e;
    }
  };
}
