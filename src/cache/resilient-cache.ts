import type { Logger } from "../logger.js";
import type { Cache } from "./cache.js";

/**
 * Wraps a cache for the serving path: a failed read is a miss and a failed write is skipped, so
 * requests go straight to the database while the cache is down. The outage is logged once
 * when it starts and once when it ends. `del` still throws: an invalidation that did not
 * happen must stop the write that needed it.
 */
export function createResilientCache(inner: Cache, logger: Logger): Cache {
  let down = false;
  const failed = (err: unknown) => {
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
