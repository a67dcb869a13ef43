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
export function createResilientCache(inner: Cache, logger: Logger, options: { retryAfterMs?: number } = {}): Cache {
  const retryAfterMs = options.retryAfterMs ?? 1000;
  let down = false;
  let retryAt = 0;
  const skipping = () => down && Date.now() < retryAt;
  const failed = (err: unknown) => {
    retryAt = Date.now() + retryAfterMs;
    if (down) return;
    down = true;
    const e = err as { code?: unknown; name?: unknown } | null;
    logger.warn({ code: e?.code ?? e?.name }, "cache unavailable; serving from the database");
  };
  const worked = () => {
    if (!down) return;
    down = false;
    logger.info("cache recovered");
  };
  return {
    async get(key) {
      if (skipping()) return undefined;
      try {
        const v = await inner.get(key);
        worked();
        return v;
      } catch (err) {
        failed(err);
        return undefined;
      }
    },
    async set(key, value, ttl) {
      if (skipping()) return;
      try {
        await inner.set(key, value, ttl);
        worked();
      } catch (err) {
        failed(err);
      }
    },
    async del(...keys) {
      try {
        await inner.del(...keys);
        worked();
      } catch (err) {
        failed(err);
        throw err;
      }
    },
    close: () => inner.close(),
  };
}
