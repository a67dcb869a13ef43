import type http from "node:http";
import type http2 from "node:http2";

/** A request handler that serves both the HTTP/1.1 and the HTTP/2 compatibility API. */
export type NodeHandler = (req: NodeRequest, res: NodeResponse) => void;

/** The request a {@link NodeHandler} is given: HTTP/1.1's, or HTTP/2's compatibility one. */
export type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;

/** The response a {@link NodeHandler} writes: HTTP/1.1's, or HTTP/2's compatibility one. */
export type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;
