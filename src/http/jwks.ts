import type { JWK } from "jose";
import type { NodeHandler } from "./node-handler.js";

/** Where the user service publishes its public keys (RFC 8414's well-known location for a JWKS). */
export const jwksPath = "/.well-known/jwks.json";

/**
 * Serves `GET /.well-known/jwks.json`: the public keys that verify this service's tokens
 * (the signing key and those not yet retired), each with `kid`, `alg` and `use: sig`. HS256
 * secrets are never published, so with HS256 alone the set is empty.
 */
export function withJwks(handler: NodeHandler, publicJwks: () => JWK[]): NodeHandler {
  return (req, res) => {
    if ((req.method === "GET" || req.method === "HEAD") && req.url?.split("?")[0] === jwksPath) {
      const body = JSON.stringify({ keys: publicJwks() });
      res.writeHead(200, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
        "cache-control": "public, max-age=60",
      });
      res.end(req.method === "HEAD" ? "" : body);
      return;
    }
    handler(req, res);
  };
}
