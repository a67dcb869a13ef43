import type { OutgoingHttpHeaders } from "node:http";
import { Code, ConnectError, createConnectRouter, createServiceImplSpec, type ConnectRouter, type ConnectRouterOptions, type ContextValues } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import { createMethodUrl, validateUniversalHandlerOptions, type UniversalHandler, type UniversalServerResponse } from "@connectrpc/connect/protocol";
import { createConnectUnary, createGrpcUnary, plainConnectUnaryFormat, isPlainGrpcUnary, singleEnvelope } from "./connect-unary.js";
import { requestHeaders } from "./light-headers.js";
import type { NodeHandler } from "../server.js";

type NodeRequest = Parameters<NodeHandler>[0];
type NodeResponse = Parameters<NodeHandler>[1];

/** Options of {@link createNodeAdapter}: connectNodeAdapter's, less what we do not use. */
export interface NodeAdapterOptions extends ConnectRouterOptions {
  routes(router: ConnectRouter): void;
  contextValues?: (req: NodeRequest) => ContextValues;
  /**
   * Serve unary calls through the lean path below (default true). False makes every call take
   * connectNodeAdapter's own path, which the wire-equivalence test compares against.
   */
  leanUnary?: boolean;
}

/**
 * A drop-in for `connectNodeAdapter` that runs the very same Connect router, with a leaner
 * bridge between Node and Connect for unary calls: the request body is read into memory up to
 * the message limit instead of through an async generator, no AbortController is aborted (and
 * no DOMException created) when a call ends normally, and the response is written with one
 * `end(body)`. Plain Connect unary calls and single-message gRPC unary calls are then served by
 * Connect's own parts without its per-call handler context (`connect-unary.ts`); every other
 * unary call goes to the router's handler, and streaming calls (health Watch, reflection) take
 * connectNodeAdapter's own bridge unchanged. `test/wire-equivalence.test.ts` holds the answers
 * byte for byte to connectNodeAdapter's.
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
  const readMaxBytes = options.readMaxBytes ?? 0xffffffff;
  const lean = options.leanUnary ?? true;

  return (req, res) => {
    const handler = paths.get(req.url?.split("?", 2)[0] ?? "");
    if (handler === undefined) {
      res.writeHead(404);
      res.end();
      return;
    }
    const contextValues = options.contextValues?.(req);
    const authority = "authority" in req && req.authority ? req.authority : req.headers.host;
    if (!lean || handler.method.methodKind !== "unary" || authority === undefined) {
      const uReq = universalRequestFromNodeRequest(req, res as never, undefined, contextValues);
      handler(uReq)
        .then((uRes) => universalResponseToNodeResponse(uRes, res as never))
        .catch((reason) => report(handler, reason));
      return;
    }
    const signal = callSignal(res);
    const url = callUrl(req, authority);
    const fast = unaryFast.get(handler.requestPath);
    const header = requestHeaders(req.headers);
    readBody(req, readMaxBytes)
      .then(async (chunks) => {
        const call = { url, header, signal, contextValues };
        const format = fast && plainConnectUnaryFormat(req.method, req.headers["content-type"], req.headers["connect-timeout-ms"] as string | undefined);
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
        const uRes = await handler({ httpVersion: req.httpVersion, method: req.method ?? "", ...call, body: iterate(chunks) });
        await writeWhole(uRes, res);
      })
      .catch((reason) => {
        report(handler, reason);
        if (!res.headersSent) res.destroy();
      });
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

const urls = new Map<string, string>();

/**
 * The request's absolute URL, as `new URL(path, origin)` spells it. Clients send the same few
 * authority and path pairs over and over, so the parsed spelling is remembered (up to 256).
 */
function callUrl(req: NodeRequest, authority: string): string {
  const encrypted = "encrypted" in req.socket && req.socket.encrypted === true;
  const origin = `${encrypted ? "https" : "http"}://${authority}`;
  const key = `${origin}\n${req.url ?? ""}`;
  let url = urls.get(key);
  if (url === undefined) {
    url = new URL(req.url ?? "", origin).toString();
    if (urls.size >= 256) urls.clear();
    urls.set(key, url);
  }
  return url;
}

/** Reads a request body, stopping just past `limit` (Connect then refuses it as too large). */
function readBody(req: NodeRequest, limit: number): Promise<Buffer[]> {
  const declared = Number(req.headers["content-length"]);
  // a declared length over the limit is refused from the header alone, without reading
  if (declared > limit) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      req.off("data", onData);
      req.off("end", done);
      req.off("error", reject);
      resolve(chunks);
    };
    const onData = (chunk: Buffer) => {
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
    req.once("error", reject);
  });
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

function report(handler: UniversalHandler, reason: unknown): void {
  if (ConnectError.from(reason).code === Code.Aborted) return;
  console.error(`handler for rpc ${handler.method.name} of ${handler.service.typeName} failed`, reason);
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
