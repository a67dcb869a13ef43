import type { Cache } from "./cache.js";
import { createRedisClient, type RedisClient, type RedisClientOptions } from "./redis-client.js";

/**
 * A cache in Redis (ioredis). Commands fail fast instead of queueing while disconnected, and a
 * command slower than `commandTimeoutMs` fails; ioredis reconnects in the background, so the
 * cache comes back by itself when Redis does.
 */
export function createRedisCache(options: RedisClientOptions): Cache & { readonly client: RedisClient; readonly connected: Promise<boolean> } {
  const client = createRedisClient(options);
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
      // one command per key: on a Cluster the keys may live in different slots
      await Promise.all(keys.map((k) => client.del(k)));
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
