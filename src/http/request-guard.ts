import { Code } from "@connectrpc/connect";
import type { Logger } from "../logger.js";
import type { NodeHandler } from "./node-handler.js";
import { refuse } from "./refusal.js";

/**
 * The size of a header list as HTTP/2 counts it for SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113
 * section 6.5.2): each field's name and value octets plus 32.
 */
function headerListSize(rawHeaders: readonly string[]): number {
  let size = 0;
  for (let i = 0; i < rawHeaders.length; i++) size += Buffer.byteLength(rawHeaders[i]!, "latin1") + (i % 2 === 0 ? 32 : 0);
  return size;
}

/**
 * The first step of every request on a port, in front of every other handler:
 * - an HTTP/2 header list over `maxHeaderBytes` is refused with 431 (gRPC: `resource_exhausted`),
 *   whether or not the client has acknowledged the SETTINGS that announced the limit (nghttp2
 *   enforces it only after the acknowledgement);
 * - anything the handlers throw while taking a request is logged once through the logger and
 *   answered (500 `internal`), never left to `uncaughtException`.
 */
export function guardRequests(handler: NodeHandler, options: { logger: Pick<Logger, "error">; maxHeaderBytes: number }): NodeHandler {
  return (req, res) => {
    if ("stream" in req && headerListSize(req.rawHeaders) > options.maxHeaderBytes) {
      return refuse(req, res, Code.ResourceExhausted, `request headers over MaxHeaderBytes (${options.maxHeaderBytes})`, 431);
    }
    try {
      handler(req, res);
    } catch (err) {
      options.logger.error({ error: (err as Error | undefined)?.name, message: (err as Error | undefined)?.message }, "request failed before reaching its handler");
      try {
        refuse(req, res, Code.Internal, "internal error");
      } catch {
        res.destroy();
      }
    }
  };
}
