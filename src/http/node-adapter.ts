import { methodName } from "protogate";
import { Code, ConnectError, createConnectRouter, type ConnectRouter, type ConnectRouterOptions, type ContextValues } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import { validateUniversalHandlerOptions, type UniversalHandler, type UniversalServerRequest, type UniversalServerResponse } from "@connectrpc/connect/protocol";
import type { Logger } from "../logger.js";
import { createBodyBudget } from "./body-budget.js";
import { withCallerFaults } from "./caller-fault.js";
import { createDeadlines } from "./deadlines.js";
import type { Intake } from "./intake.js";
import { createLeanUnary } from "./lean-unary/index.js";
import type { NodeHandler, NodeRequest, NodeResponse } from "./node-handler.js";
import { drain, refuse } from "./refusal.js";
import { requestUrl } from "./request-url.js";

/** Options of {@link createNodeAdapter}: connectNodeAdapter's, less what we do not use, plus the bounds of request intake. */
export interface NodeAdapterOptions extends ConnectRouterOptions {
  routes(router: ConnectRouter): void;
  contextValues?: (req: NodeRequest) => ContextValues;
  /**
   * Serve unary calls through the lean path (`lean-unary/`; default true). False makes every
   * call take connectNodeAdapter's own path, which the wire-equivalence test compares against.
   */
  leanUnary?: boolean;
  /** Where a request that fails in the bridge is reported (client aborts at debug); default: nowhere. */
  logger?: Pick<Logger, "debug" | "error">;
  /** Called once for each call whose client went away before its answer. */
  onClientAbort?: () => void;
  /** Called once for each unary call the lean path served with Connect's parts (not via the router's handler). */
  onLeanCall?: (protocol: "connect" | "grpc") => void;
  /**
   * Time a request's body may take to arrive, in milliseconds (client- and bidi-streaming
   * methods excepted: their request is a long-lived stream); then the call is answered
   * `deadline_exceeded` (HTTP 408). Default: unbounded.
   */
  requestTimeoutMs?: number;
  /** Bytes of request bodies held while they arrive, per connection and in all; past either, `resource_exhausted`. */
  pendingBodyBytes?: { perConnection: number; total: number };
}

/**
 * A drop-in for `connectNodeAdapter` that runs the very same Connect router, with a leaner
 * bridge between Node and Connect for unary calls (`lean-unary/`): the request body is read into
 * memory up to the message limit instead of through an async generator, no AbortController is
 * aborted (and no DOMException created) when a call ends normally, and the response is written
 * with one `end(body)`. Plain Connect unary calls and single-message gRPC unary calls are then
 * served by Connect's own parts without its per-call handler context
 * (`lean-unary/connect-unary.ts`, `lean-unary/grpc-unary.ts`); every other unary call goes to
 * the router's handler, and streaming calls (health Watch, reflection) take connectNodeAdapter's
 * own bridge. Routing, intake bounds and the reporting of failed calls are this module's, for
 * both paths. `test/wire-equivalence.test.ts` holds the answers byte for byte to
 * connectNodeAdapter's, and `test/http/fuzz.test.ts` holds both paths to each other.
 *
 * Unlike connectNodeAdapter, nothing a client sends throws out of it: a request with no
 * authority or one that does not parse is answered 400 (`invalid_argument`), an unknown path
 * 404 (`unimplemented`), and an empty 405/415 of Connect's gets a body saying what was
 * expected; bodies that do not decode are `invalid_argument`, not `internal`
 * (`caller-fault.ts`); a body that does not arrive within `requestTimeoutMs` is answered 408,
 * and bodies held past `pendingBodyBytes` are refused.
 */
export function createNodeAdapter(options: NodeAdapterOptions): NodeHandler {
  const routerOptions = { ...options, acceptCompression: options.acceptCompression ?? [compressionGzip, compressionBrotli] };
  const router = createConnectRouter(routerOptions);
  const opt = validateUniversalHandlerOptions(routerOptions);
  const leanPath = createLeanUnary(opt, options.onLeanCall);
  options.routes({
    get handlers() {
      return router.handlers;
    },
    service(desc, impl, serviceOptions) {
      // the same implementation, also served by the lean unary path
      leanPath.service(desc, impl, serviceOptions);
      return router.service(desc, impl, serviceOptions);
    },
    rpc(method, impl, rpcOptions) {
      return router.rpc(method, impl, rpcOptions);
    },
  } as ConnectRouter);
  const paths = new Map<string, UniversalHandler>();
  for (const h of router.handlers) paths.set(h.requestPath, h);
  const example = router.handlers[0]?.requestPath ?? "/package.Service/Method";
  const lean = options.leanUnary ?? true;
  const deadlines = options.requestTimeoutMs === undefined ? undefined : createDeadlines(options.requestTimeoutMs);
  const budget = options.pendingBodyBytes === undefined ? undefined : createBodyBudget(options.pendingBodyBytes);
  const timeoutMessage = `the request did not arrive within RequestTimeout (${options.requestTimeoutMs} ms)`;

  /** The last line: a call that failed before its answer is reported once and gets one. */
  const fail = (handler: UniversalHandler, req: NodeRequest, res: NodeResponse, reason: unknown) => {
    const error = ConnectError.from(reason);
    const method = methodName(handler.method);
    if (error.code === Code.Aborted || error.code === Code.Canceled) {
      // after an answer (a refusal, a timeout) the end of the call is no client abort
      if (res.headersSent) return;
      options.onClientAbort?.();
      options.logger?.debug({ method, code: Code[error.code] }, "client went away before the answer");
      return;
    }
    options.logger?.error({ method, code: Code[error.code], error: (reason as Error | undefined)?.name, message: error.rawMessage }, "request failed in the HTTP bridge");
    refuse(req, res, reason instanceof ConnectError ? error.code : Code.Internal, reason instanceof ConnectError ? error.rawMessage : "internal error");
  };

  const admit = (req: NodeRequest, res: NodeResponse, handler: UniversalHandler): Intake => {
    const connection: object = ("stream" in req ? req.stream.session : undefined) ?? req.socket;
    let held = 0;
    let arriving = true;
    const finish = () => {
      if (!arriving) return;
      arriving = false;
      deadlines?.settle(res);
    };
    const kind = handler.method.methodKind;
    if (deadlines !== undefined && kind !== "client_streaming" && kind !== "bidi_streaming") {
      deadlines.start(res, () => {
        arriving = false;
        if (!res.headersSent) refuse(req, res, Code.DeadlineExceeded, timeoutMessage, 408, { connection: "close" });
        else if ("stream" in req) drain(req);
        else req.socket.destroy();
      });
    }
    res.once("close", () => {
      finish();
      budget?.give(connection, held);
      held = 0;
    });
    return {
      take(bytes) {
        if (budget === undefined) return;
        if (!budget.take(connection, bytes)) throw new ConnectError("too many request bytes in flight on this connection or server; retry later", Code.ResourceExhausted);
        held += bytes;
      },
      finish,
    };
  };

  /** Answers what Connect answers with an empty body (405, 415, 505) with a body saying what was expected. */
  const explained = (req: NodeRequest, res: NodeResponse, handler: UniversalHandler, uRes: UniversalServerResponse): boolean => {
    if (uRes.body !== undefined) return false;
    if (uRes.status === 405) {
      refuse(req, res, Code.Unimplemented, `${req.method} is not allowed here: call ${handler.requestPath} with ${handler.allowedMethods.join(" or ")}`, 405, { allow: handler.allowedMethods.join(", ") });
      return true;
    }
    if (uRes.status === 415) {
      refuse(req, res, Code.InvalidArgument, "unsupported content-type: use application/json or application/proto (Connect), application/grpc (gRPC) or application/grpc-web+proto (gRPC-Web)", 415);
      return true;
    }
    if (uRes.status === 505) {
      refuse(req, res, Code.InvalidArgument, `${handler.method.name} is a bidirectional stream: call it over HTTP/2`, 400, { connection: "close" });
      return true;
    }
    return false;
  };

  const viaConnect = (req: NodeRequest, res: NodeResponse, handler: UniversalHandler, intake: Intake, contextValues: ContextValues | undefined) => {
    let uReq: UniversalServerRequest;
    try {
      uReq = universalRequestFromNodeRequest(req, res as never, undefined, contextValues);
    } catch (reason) {
      return fail(handler, req, res, reason);
    }
    uReq = { ...uReq, body: metered(uReq.body as AsyncIterable<Uint8Array>, intake) };
    handler(uReq)
      .then((uRes) => withCallerFaults(uRes, opt.jsonOptions))
      .then((uRes) => {
        if (explained(req, res, handler, uRes)) return;
        if (res.headersSent || res.destroyed) return discard(uRes);
        return universalResponseToNodeResponse(uRes, res as never);
      })
      .catch((reason) => fail(handler, req, res, reason));
  };

  return (req, res) => {
    const handler = paths.get(req.url?.split("?", 2)[0] ?? "");
    if (handler === undefined) {
      return refuse(req, res, Code.Unimplemented, `no method at this path: calls are POST /<package>.<Service>/<Method>, such as POST ${example}`, 404);
    }
    const url = requestUrl(req);
    if (url === undefined) {
      return refuse(req, res, Code.InvalidArgument, "the request names no valid authority (Host header or :authority)", 400, { connection: "close" });
    }
    const contextValues = options.contextValues?.(req);
    const intake = admit(req, res, handler);
    if (!lean || handler.method.methodKind !== "unary") return viaConnect(req, res, handler, intake, contextValues);
    leanPath.serve(req, res, handler, url, intake, contextValues, explained).catch((reason) => fail(handler, req, res, reason));
  };
}

/** Connect's view of a request body, accounted to the request's intake as it is read. */
async function* metered(body: AsyncIterable<Uint8Array>, intake: Intake): AsyncIterable<Uint8Array> {
  for await (const chunk of body) {
    intake.take(chunk.byteLength);
    yield chunk;
  }
  intake.finish();
}

/** Ends a response that can no longer be written (its client went away, or it was answered already). */
async function discard(uRes: UniversalServerResponse): Promise<void> {
  const body = uRes.body as AsyncIterable<Uint8Array> | undefined;
  await body?.[Symbol.asyncIterator]().return?.();
}
