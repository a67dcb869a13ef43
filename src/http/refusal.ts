import { Code, ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { constants as http2Constants, type ServerHttp2Stream } from "node:http2";
import type { NodeRequest, NodeResponse } from "./node-handler.js";

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
 * The rest of an unread body is read and dropped: over HTTP/2 here (see {@link drain}), over
 * HTTP/1.1 by Node (within RequestTimeout), unless `extraHeaders` says `connection: close`,
 * which closes the HTTP/1.1 connection after the answer. Does nothing once a response has started.
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
  if (unfinished && "stream" in req) drain(req);
}

/** What a refused HTTP/2 request may still send, read and dropped, before its stream is cancelled. */
const drainBytes = 1024 * 1024;
const drainMs = 5000;

/**
 * Reads and drops the rest of an HTTP/2 request whose answer is out (or never coming), so its
 * client can finish sending and read the answer: node:http2's client reports a stream closed
 * only once its own request has ended, even after a RST_STREAM with NO_ERROR, and a reset sent
 * right after the answer can overtake its last DATA frame. Past `drainBytes` or `drainMs` the
 * stream is cancelled.
 */
export function drain(req: NodeRequest & { stream: ServerHttp2Stream }): void {
  const stream = req.stream;
  if (drained.has(stream)) return;
  drained.add(stream);
  let read = 0;
  const cancel = () => {
    if (!stream.closed && !stream.destroyed) stream.close(http2Constants.NGHTTP2_CANCEL);
  };
  const timer = setTimeout(cancel, drainMs).unref();
  stream.once("close", () => clearTimeout(timer));
  req.on("data", (chunk: Buffer) => {
    read += chunk.length;
    if (read > drainBytes) cancel();
  });
  req.on("error", () => undefined);
  req.resume();
}

const drained = new WeakSet<ServerHttp2Stream>();
