import cluster, { type Worker } from "node:cluster";
import { availableParallelism } from "node:os";
import { ConfigError, type Config } from "./config.js";
import type { Logger } from "./logger.js";
import { answerMetricsRequests } from "./observability/cluster-metrics.js";

/** What a worker tells the primary once its ports listen. */
export const readyMessage = "bookstore:ready";

/** What a worker that could not start tells the primary: `{ [failedMessage]: one-line reason }`. */
export const failedMessage = "bookstore:failed";

/**
 * How many worker processes to run: `Workers` when set (0 or unset means automatic), else one
 * per core when state is shared through Redis, one otherwise. More than one without Redis is
 * refused: revocations, sessions' access-token revocations, login limits and the cache would
 * each live in one process only, so the embedded default is single-instance.
 */
export function workerCount(config: Config, cores = availableParallelism()): number {
  const shared = config.cacheRedis.url !== "";
  const n = config.workers > 0 ? config.workers : shared ? cores : 1;
  if (n > 1 && !shared) {
    throw new ConfigError(
      `Workers (WORKERS, --workers) is ${n}, but without CacheRedis.Url (REDIS_URL) state would not be shared: the embedded default is single-instance`,
    );
  }
  return n;
}

/**
 * Runs the node:cluster primary: forks `count` workers (each serving the same ports, the
 * primary handing out connections), restarts a worker that dies after it was ready, and on
 * SIGTERM/SIGINT asks every worker to shut down gracefully and resolves with 0 once all have
 * exited (1 if any failed). A worker that dies before it was ready (bad config, a database it
 * cannot reach) stops the whole set with exit code 1 rather than restarting in a loop; the
 * reason it sent is printed to `stderr` once, however many workers failed alike.
 */
export function runPrimary(count: number, logger: Logger, stderr: NodeJS.WritableStream = process.stderr): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    let failed = false;
    let printed = false;
    const ready = new WeakSet<Worker>();
    const live = new Set<Worker>();
    const fork = () => {
      const worker = cluster.fork();
      live.add(worker);
      worker.on("message", (m: unknown) => {
        const reason = typeof m === "object" && m !== null ? (m as Record<string, unknown>)[failedMessage] : undefined;
        if (typeof reason === "string") {
          failed = true;
          if (!printed) stderr.write(`bookstore: ${reason}\n`);
          printed = true;
        }
        if (m === readyMessage) {
          ready.add(worker);
          logger.info({ worker: worker.id, pid: worker.process.pid }, "worker ready");
        }
      });
    };
    const stopAll = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal, workers: live.size }, "shutting down workers");
      for (const w of live) w.process.kill("SIGTERM");
    };
    cluster.on("exit", (worker, code, signal) => {
      live.delete(worker);
      if (!stopping && ready.has(worker)) {
        logger.warn({ worker: worker.id, pid: worker.process.pid, code, signal }, "worker died; starting another");
        fork();
        return;
      }
      if (code !== 0 && !(stopping && signal === "SIGTERM")) failed = true;
      if (!stopping) {
        logger.error({ worker: worker.id, code, signal }, "worker failed before it was ready; stopping");
        stopAll("SIGTERM");
      }
      if (live.size === 0) {
        if (!failed) logger.info("stopped");
        resolve(failed ? 1 : 0);
      }
    });
    process.once("SIGTERM", () => stopAll("SIGTERM"));
    process.once("SIGINT", () => stopAll("SIGINT"));
    // a scrape of any worker's /metrics reports the whole set
    answerMetricsRequests();
    logger.info({ workers: count }, "starting workers");
    for (let i = 0; i < count; i++) fork();
  });
}
