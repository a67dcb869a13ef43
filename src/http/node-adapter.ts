import type { OutgoingHttpHeaders } from "node:http";
import { methodName } from "protogate";
import { Code, ConnectError, createConnectRouter, createServiceImplSpec, type ConnectRouter, type ConnectRouterOptions, type ContextValues } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import { createMethodUrl, validateUniversalHandlerOptions, type UniversalHandler, type UniversalServerRequest, type UniversalServerResponse } from "@connectrpc/connect/protocol";
import type { Logger } from "../logger.js";
import { createBodyBudget } from "./body-budget.js";
import { withCallerFaults } from "./caller-fault.js";
import { createConnectUnary, createGrpcUnary, plainConnectUnaryFormat, isPlainGrpcUnary, singleEnvelope } from "./connect-unary.js";
import { createDeadlines } from "./deadlines.js";
import { requestHeaders } from "./light-headers.js";
import type { NodeHandler, NodeRequest, NodeResponse } from "./node-handler.js";
import { drain, refuse } from "./refusal.js";
import { requestUrl } from "./request-url.js";

/** Options of {@link createNodeAdapter}: connectNodeAdapter's, less what we do not use, plus the bounds of request intake. */
export interface NodeAdapterOptions extends ConnectRouterOptions {
  routes(router: ConnectRouter): void;
  contextValues?: (req: NodeRequest) => ContextValues;
  /**
   * Serve unary calls through the lean path below (default true). False makes every call take
   * connectNodeAdapter's own path, which the wire-equivalence test compares against.
   */
  leanUnary?: boolean;
  /** Where a request that fails in the bridge is reported (client aborts at debug); default: nowhere. */
  logger?: Pick<Logger, "debug" | "error">;
  /** Called once for each call whose client went away before its answer. */
  onClientAbort?: () => void;
  /**
   * Time a request's body may take to arrive, in milliseconds (client- and bidi-streaming
   * methods excepted: their request is a long-lived stream); then the call is answered
   * `deadline_exceeded` (HTTP 408). Default: unbounded.
   */
  requestTimeoutMs?: number;
  /** Bytes of request bodies held while they arrive, per connection and in all; past either, `resource_exhausted`. */
  pendingBodyBytes?: { perConnection: number; total: number };
}

/** What one request may take of the port's intake bounds, and when it is done taking. */
interface Intake {
  /** Accounts for `bytes` more of body; throws `resource_exhausted` past a bound. */
  take(bytes: number): void;
  /** The body has fully arrived. */
  finish(): void;
}

/**
 * A drop-in for `connectNodeAdapter` that runs the very same Connect router, with a leaner
 * bridge between Node and Connect for unary calls: the request body is read into memory up to
 * the message limit instead of through an async generator, no AbortController is aborted (and
 * no DOMException created) when a call ends normally, and the response is written with one
 * `end(body)`. Plain Connect unary calls and single-message gRPC unary calls are then served by
 * Connect's own parts without its per-call handler context (`connect-unary.ts`); every other
 * unary call goes to the router's handler, and streaming calls (health Watch, reflection) take
 * connectNodeAdapter's own bridge. `test/wire-equivalence.test.ts` holds the answers byte for
 * byte to connectNodeAdapter's, and `test/http/fuzz.test.ts` holds both paths to each other.
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
  const unaryFast = new Map<string, { connect: ReturnType<typeof createConnectUnary>; grpc: ReturnType<typeof createGrpcUnary> }>();
  const opt = validateUniversalHandlerOptions(routerOptions);
  options.routes({
    get handlers() {
      return router.handlers;
    },
    service(desc, impl, serviceOptions) {
      // the same implementation, also served by the Connect unary path (no per-service options are used here)
      if (serviceOptions === undefined) {
        for (const spec of Object.values(createServiceImplSpec(desc, impl).methods)) {
          if (spec.kind === "unary") {
            unaryFast.set(createMethodUrl("/", spec.method), { connect: createConnectUnary(opt, spec), grpc: createGrpcUnary(opt, spec) });
          }
        }
      }
      return router.service(desc, impl, serviceOptions);
    },
    rpc(method, impl, rpcOptions) {
      return router.rpc(method, impl, rpcOptions);
    },
  } as ConnectRouter);
  const paths = new Map<string, UniversalHandler>();
  for (const h of router.handlers) paths.set(h.requestPath, h);
  const example = router.handlers[0]?.requestPath ?? "/package.Service/Method";
  const readMaxBytes = options.readMaxBytes ?? 0xffffffff;
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
    const signal = callSignal(res);
    const fast = unaryFast.get(handler.requestPath);
    const header = requestHeaders(req.headers);
    const format = fast && plainConnectUnaryFormat(req.method, req.headers["content-type"], req.headers["connect-timeout-ms"] as string | undefined);
    // only the Connect path refuses a declared length over the limit from the header alone
    readBody(req, res, readMaxBytes, intake, format !== undefined)
      .then(async (chunks) => {
        const call = { url, header, signal, contextValues };
        if (fast !== undefined && format !== undefined) {
          const r = await fast.connect({ ...call, binary: format.binary, body: iterate(chunks) });
          return send(res, r.status, r.header, undefined, r.body);
        }
        if (fast !== undefined && isPlainGrpcUnary(req.httpVersion, req.method, req.headers)) {
          const message = singleEnvelope(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), readMaxBytes);
          if (message !== undefined) {
            const r = await fast.grpc({ ...call, message });
            return send(res, r.status, r.header, r.trailer, r.body);
          }
        }
        const uRes = await withCallerFaults(await handler({ httpVersion: req.httpVersion, method: req.method ?? "", ...call, body: iterate(chunks) }), opt.jsonOptions);
        if (!explained(req, res, handler, uRes)) await writeWhole(uRes, res);
      })
      .catch((reason) => fail(handler, req, res, reason));
  };
}

/**
 * The signal of one call: aborted with Canceled when the client goes away (connection closed,
 * HTTP/2 stream reset) before the response is written. (Connect's bridge aborts with an
 * AbortError over HTTP/1.1 and maps an HTTP/2 reset code; both read as Canceled through
 * ConnectError.from.) Made per call and eagerly: a lazy one needs accessor properties on the
 * request and context objects, which measured slower than the AbortController they save.
 */
function callSignal(res: NodeResponse): AbortSignal {
  const controller = new AbortController();
  res.once("close", () => {
    // headers not sent: the response never went out (HTTP/2's writableFinished is true on any close)
    if (!res.headersSent) controller.abort(new ConnectError("the client went away", Code.Canceled));
  });
  return controller.signal;
}

/**
 * Reads a request body, stopping just past `limit` (Connect then refuses it as too large);
 * with `refusesDeclared` (the Connect unary path, which checks Content-Length itself) a
 * declared length over the limit is not read at all.
 * Rejects with `canceled` when the call ends before the body does (the client went away, or
 * the answer was given without it), and with what `intake` throws past a bound.
 */
function readBody(req: NodeRequest, res: NodeResponse, limit: number, intake: Intake, refusesDeclared: boolean): Promise<Buffer[]> {
  // a declared length over the limit is refused from the header alone, without reading
  if (refusesDeclared && Number(req.headers["content-length"]) > limit) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      req.off("data", onData);
      req.off("end", done);
      req.off("error", onError);
      res.off("close", onClose);
    };
    const done = () => {
      stop();
      intake.finish();
      resolve(chunks);
    };
    const onError = (err: Error) => {
      stop();
      reject(err);
    };
    const onClose = () => onError(new ConnectError("the call ended before its request body arrived", Code.Canceled));
    const onData = (chunk: Buffer) => {
      try {
        intake.take(chunk.length);
      } catch (err) {
        req.pause();
        return onError(err as Error);
      }
      chunks.push(chunk);
      size += chunk.length;
      // enough to exceed the limit even with a gRPC envelope prefix: stop reading
      if (size > limit + 5) {
        req.pause();
        done();
      }
    };
    req.on("data", onData);
    req.once("end", done);
    req.once("error", onError);
    res.once("close", onClose);
  });
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

async function* iterate(chunks: Buffer[]): AsyncIterable<Uint8Array> {
  for (const c of chunks) yield c;
}

/** Runs the response to its end, then writes it at once. */
async function writeWhole(uRes: UniversalServerResponse, res: NodeResponse): Promise<void> {
  const parts: Uint8Array[] = [];
  if (uRes.body !== undefined) {
    for await (const chunk of uRes.body as AsyncIterable<Uint8Array>) parts.push(chunk);
  }
  send(res, uRes.status, uRes.header, uRes.trailer, parts.length === 1 ? parts[0]! : Buffer.concat(parts));
}

/** Writes status, headers, body and trailers (if any) in one go, unless the client has gone. */
function send(res: NodeResponse, status: number, header: ConstructorParameters<typeof Headers>[0], trailer: ConstructorParameters<typeof Headers>[0] | undefined, body: Uint8Array): void {
  if (res.destroyed) return;
  res.writeHead(status, nodeHeaders(header));
  if (trailer !== undefined) res.addTrailers(nodeHeaders(trailer));
  res.end(body);
}

/** Web Headers as a Node header object, as Connect's bridge converts them. */
function nodeHeaders(headers: ConstructorParameters<typeof Headers>[0]): OutgoingHttpHeaders {
  const o: OutgoingHttpHeaders = Object.create(null);
  if (headers === undefined) return o;
  (headers instanceof Headers ? headers : new Headers(headers)).forEach((value, key) => {
    const seen = o[key];
    if (seen === undefined) o[key] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else o[key] = [String(seen), value];
  });
  return o;
}
