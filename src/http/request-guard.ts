import { Code } from "@connectrpc/connect";
import type { Logger } from "../logger.js";
import type { NodeHandler } from "./node-handler.js";
import { refuse } from "./refusal.js";

/**
 * The octets of the fields' names and values, plus `perField` for each field, one octet per
 * character (the latin1 count, which is a string's length: Node's HTTP/1 parser gives latin1).
 */
function fieldsSize(rawHeaders: readonly string[], perField: number): number {
  let size = (rawHeaders.length / 2) * perField;
  for (let i = 0; i < rawHeaders.length; i++) size += rawHeaders[i]!.length;
  return size;
}

/**
 * The size of a header list as HTTP/2 counts it for SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113
 * section 6.5.2): each field's name and value octets plus 32.
 */
const headerListSize = (rawHeaders: readonly string[]): number => fieldsSize(rawHeaders, 32);

/**
 * The size of an HTTP/1.x request head as it came on the wire, request line to blank line (less any
 * optional whitespace the parser trimmed): `name: value\r\n` per field. Node's own
 * `maxHeaderSize` counts only the target and the fields' names and values, so a head up to a few
 * dozen bytes over the limit would pass it.
 */
function headSize(req: { method?: string; url?: string; rawHeaders: readonly string[] }): number {
  const requestLine = (req.method ?? "").length + 1 + (req.url ?? "").length + " HTTP/1.1\r\n".length;
  return requestLine + fieldsSize(req.rawHeaders, ": \r\n".length) + "\r\n".length;
}

/**
 * The first step of every request on a port, in front of every other handler:
 * - an HTTP/2 header list over `maxHeaderBytes` is refused with 431 (gRPC: `resource_exhausted`),
 *   whether or not the client has acknowledged the SETTINGS that announced the limit (nghttp2
 *   enforces it only after the acknowledgement); so is an HTTP/1.1 head over it, counted as sent;
 * - anything the handlers throw while taking a request is logged once through the logger and
 *   answered (500 `internal`), never left to `uncaughtException`.
 */
export function guardRequests(handler: NodeHandler, options: { logger: Pick<Logger, "error">; maxHeaderBytes: number }): NodeHandler {
  return (req, res) => {
    if ("stream" in req && headerListSize(req.rawHeaders) > options.maxHeaderBytes) {
      return refuse(req, res, Code.ResourceExhausted, `request headers over MaxHeaderBytes (${options.maxHeaderBytes})`, 431);
    }
    if (!("stream" in req) && headSize(req) > options.maxHeaderBytes) {
      return refuse(req, res, Code.ResourceExhausted, `request head over MaxHeaderBytes (${options.maxHeaderBytes})`, 431, { connection: "close" });
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
