import type { NodeHandler } from "./node-handler.js";
import type { Metrics } from "../observability/metrics.js";
import type { HealthState } from "../health/health-state.js";

/**
 * Adds plain HTTP probes in front of the RPC handler, for load balancers and Kubernetes:
 * `GET /healthz` answers 200 while the process runs (liveness); `GET /readyz` answers 200 while
 * it can serve and 503 while its database is down or it is shutting down (readiness);
 * `GET /metrics` gives the Prometheus metrics.
 */
export function withProbes(handler: NodeHandler, health: HealthState, metrics?: Metrics): NodeHandler {
  return (req, res) => {
    if (req.method === "GET" || req.method === "HEAD") {
      const path = req.url?.split("?")[0];
      if (path === "/metrics" && metrics !== undefined) {
        metrics.render().then(
          (text) => {
            res.writeHead(200, { "content-type": metrics.contentType, "cache-control": "no-store" });
            res.end(text);
          },
          () => {
            // with workers: the primary did not gather the others' metrics in time
            res.writeHead(503, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
            res.end("metrics unavailable\n");
          },
        );
        return;
      }
      if (path === "/healthz" || path === "/readyz") {
        const ok = path === "/healthz" || health.status() === "serving";
        const body = ok ? "ok\n" : "not ready\n";
        res.writeHead(ok ? 200 : 503, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(body), "cache-control": "no-store" });
        if (req.method === "HEAD") res.end();
        else res.end(body);
        return;
      }
    }
    handler(req, res);
  };
}
