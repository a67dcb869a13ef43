import { randomUUID } from "node:crypto";
import cluster, { type Worker } from "node:cluster";
import { AggregatorRegistry, type Registry } from "prom-client";

// With --workers N, a scrape reaches one worker; it asks the primary, which gathers every
// worker's registry through prom-client's cluster aggregator and answers with the sum.

const request = "bookstore:metrics-request";
const reply = "bookstore:metrics-reply";

/**
 * In a worker: lets the primary collect `registry` (prom-client's worker side answers its
 * requests), and returns how this worker renders the metrics of the whole set: by asking the
 * primary, which rejects after `timeoutMs` without an answer.
 */
export function clusterRender(registry: Registry, timeoutMs = 5000): () => Promise<string> {
  AggregatorRegistry.setRegistries([registry]);
  // constructing one is what installs prom-client's worker side (its answer to the primary)
  new AggregatorRegistry();
  return () =>
    new Promise((resolve, reject) => {
      const id = randomUUID();
      const done = () => {
        clearTimeout(timer);
        process.off("message", onMessage);
      };
      const onMessage = (m: unknown) => {
        const r = m as { [reply]?: string; text?: string; error?: string } | null;
        if (r?.[reply] !== id) return;
        done();
        if (typeof r.text === "string") resolve(r.text);
        else reject(new Error(`the primary could not gather the workers' metrics: ${r.error ?? "no answer"}`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error("the primary did not answer a metrics request"));
      }, timeoutMs);
      process.on("message", onMessage);
      process.send?.({ [request]: id });
    });
}

/** In the primary: answers the workers' metrics requests with the aggregate of all workers. */
export function answerMetricsRequests(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on("message", (worker: Worker, m: unknown) => {
    const id = (m as { [request]?: unknown } | null)?.[request];
    if (typeof id !== "string") return;
    const answer = (message: object) => {
      if (worker.isConnected()) worker.send(message);
    };
    aggregator.clusterMetrics().then(
      (text) => answer({ [reply]: id, text }),
      (err: Error) => answer({ [reply]: id, error: err.message }),
    );
  });
}
