import { Code, ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import type { NodeHandler } from "../server.js";

type NodeRequest = Parameters<NodeHandler>[0];
type NodeResponse = Parameters<NodeHandler>[1];

/** The RPC protocol a request's content type names, as far as a refusal needs to know. */
export type WireProtocol = "grpc" | "grpc-web" | "connect";

/** The protocol of a request by its content type: gRPC, gRPC-Web, or anything else (Connect, plain HTTP). */
export function wireProtocol(contentType: string | string[] | undefined): WireProtocol {
  const type = typeof contentType === "string" ? contentType.trimStart().toLowerCase() : "";
  if (type.startsWith("application/grpc-web")) return "grpc-web";
  if (type.startsWith("application/grpc")) return "grpc";
  return "connect";
}

/**
 * Answers a request that never reaches the router with an error its client can read: gRPC and
 * gRPC-Web get HTTP 200 with `grpc-status`/`grpc-message` in the headers (a trailers-only
 * response, so the client sees `code`, not a mapped HTTP status); anything else gets a Connect
 * error body (`{"code": ..., "message": ...}`) with `httpStatus`, or the code's own status.
 * Over HTTP/2 the stream is ended once the answer is out, however much of the request is still
 * to come; over HTTP/1.1 Node reads and drops an unread body (within RequestTimeout), unless
 * `extraHeaders` says `connection: close`. Does nothing once a response has started.
 */
export function refuse(req: NodeRequest, res: NodeResponse, code: Code, message: string, httpStatus?: number, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed || res.writableEnded) return;
  const error = new ConnectError(message, code);
  const protocol = wireProtocol(req.headers["content-type"]);
  const unfinished = !req.complete;
  if ("stream" in req && "connection" in extraHeaders) {
    // connection-specific headers are not allowed in HTTP/2 (RFC 9113 section 8.2.2)
    const { connection: _, ...rest } = extraHeaders;
    extraHeaders = rest;
  }
  if (protocol === "connect") {
    const body = errorToJsonBytes(error, {});
    res.writeHead(httpStatus ?? codeToHttpStatus(code), { "content-type": "application/json", "content-length": body.byteLength, ...extraHeaders });
    res.end(body);
  } else {
    const trailer = new Headers();
    setTrailerStatus(trailer, error);
    const type = protocol === "grpc" ? "application/grpc" : "application/grpc-web+proto";
    res.writeHead(200, { "content-type": type, ...Object.fromEntries(trailer), ...extraHeaders });
    res.end();
  }
  if (unfinished && "stream" in req) {
    // the answer is complete: the rest of the request is not wanted (RFC 9113 section 8.1)
    const stream = req.stream;
    const close = () => {
      if (!stream.closed && !stream.destroyed) stream.close();
    };
    if (stream.writableFinished) close();
    else stream.once("finish", close);
  }
}
