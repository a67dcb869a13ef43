import type { Clock } from "../clock.js";
import { createFailOpen, failureCode } from "../lib/fail-open.js";
import type { Logger } from "../logger.js";
import type { Cache } from "./cache.js";

/**
 * Wraps a cache for the serving path: a failed read is a miss and a failed write is skipped, so
 * requests go straight to the database while the cache is down. After a failure, reads and
 * writes skip the cache for `retryAfterMs` before one is let through to probe it, so a hung
 * Redis costs one command timeout per interval rather than one per call. The outage is logged
 * once when it starts and once when it ends. `del` always tries and still throws: an
 * invalidation that did not happen must stop the write that needed it.
 */
export function createResilientCache(inner: Cache, logger: Logger, options: { retryAfterMs?: number; clock?: Clock } = {}): Cache {
  const backend = createFailOpen({
    retryAfterMs: options.retryAfterMs ?? 1000,
    clock: options.clock,
    onDown: (err) => logger.warn({ code: failureCode(err) }, "cache unavailable; serving from the database"),
    onUp: () => logger.info("cache recovered"),
  });
  const skip = () => undefined;
  return {
    get: (key) => backend.run(() => inner.get(key), skip),
    set: (key, value, ttl) => backend.run(() => inner.set(key, value, ttl), skip),
    del: (...keys) => backend.attempt(() => inner.del(...keys)),
    close: () => inner.close(),
  };
}
