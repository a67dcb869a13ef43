import { cors } from "@connectrpc/connect";
import type { NodeHandler } from "./node-handler.js";

const allowMethods = cors.allowedMethods.join(", ");
const allowHeaders = [...cors.allowedHeaders, "Authorization", "X-Request-Id"].join(", ");
const exposeHeaders = [...cors.exposedHeaders, "X-Request-Id", "WWW-Authenticate"].join(", ");

/**
 * Lets browser pages on `allowedOrigins` (exact origins, or "*") call the services with the
 * Connect and gRPC-Web protocols: answers preflights with the methods and headers those
 * protocols use (plus `authorization`), and marks responses readable by the page. A preflight
 * from any other origin gets 403; with no allowed origins this adds nothing.
 */
export function withCors(handler: NodeHandler, allowedOrigins: readonly string[]): NodeHandler {
  if (allowedOrigins.length === 0) return handler;
  const any = allowedOrigins.includes("*");
  const allowed = new Set(allowedOrigins);
  return (req, res) => {
    const origin = req.headers.origin;
    if (typeof origin !== "string") return handler(req, res);
    const ok = any || allowed.has(origin);
    const preflight = req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined;
    if (preflight) {
      if (!ok) {
        res.writeHead(403, { vary: "Origin", "content-length": 0 });
        res.end();
        return;
      }
      res.writeHead(204, {
        "access-control-allow-origin": origin,
        "access-control-allow-methods": allowMethods,
        "access-control-allow-headers": allowHeaders,
        "access-control-max-age": "7200",
        vary: "Origin",
        "content-length": 0,
      });
      res.end();
      return;
    }
    if (ok) {
      res.setHeader("access-control-allow-origin", origin);
      res.setHeader("access-control-expose-headers", exposeHeaders);
      res.setHeader("vary", "Origin");
    }
    handler(req, res);
  };
}
