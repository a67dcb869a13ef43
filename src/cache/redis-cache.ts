import { Redis } from "ioredis";
import type { Cache } from "./cache.js";

/**
 * A cache in Redis (ioredis). Commands fail fast instead of queueing while disconnected, and a
 * command slower than `commandTimeoutMs` fails; ioredis reconnects in the background, so the
 * cache comes back by itself when Redis does.
 */
export function createRedisCache(options: {
  url: string;
  keyPrefix: string;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
}): Cache & { readonly client: Redis; readonly connected: Promise<boolean> } {
  const client = new Redis(options.url, {
    keyPrefix: options.keyPrefix,
    connectTimeout: options.connectTimeoutMs,
    commandTimeout: options.commandTimeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    lazyConnect: true,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
  });
  client.on("error", () => {
    // reported by the resilient wrapper, once per outage
  });
  // the first connection is awaited (bounded by connectTimeout); later ones happen in the background
  const connected = client.connect().then(
    () => true,
    () => false,
  );
  return {
    client,
    connected,
    async get(key) {
      return (await client.get(key)) ?? undefined;
    },
    async set(key, value, ttlSeconds) {
      await client.set(key, value, "EX", ttlSeconds);
    },
    async del(...keys) {
      if (keys.length > 0) await client.del(...keys);
    },
    async close() {
      if (client.status === "ready") {
        await client.quit().catch(() => client.disconnect());
      } else {
        client.disconnect();
      }
    },
  };
}
