import { Cluster, Redis } from "ioredis";
import { hostPortPattern } from "../config/cache-redis.js";
import { traceRedisCommands } from "../lib/tracing.js";

/** A connection to a single Redis, a Sentinel-managed primary, or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

/** Options of {@link createRedisClient}: the `CacheRedis` section. */
export interface RedisClientOptions {
  /** `node`: Url is the server; `sentinel`: Url (and Nodes) are sentinels; `cluster`: seed nodes. */
  type: "node" | "sentinel" | "cluster";
  /** redis[s]://[:password@]host:port[/db]; password, db and TLS apply in every mode. */
  url: string;
  /** More sentinels or cluster seeds, as host:port. */
  nodes: readonly string[];
  /** The primary's name the sentinels know (sentinel mode). */
  sentinelName: string;
  keyPrefix: string;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
}

/**
 * Creates the ioredis client for the configured mode, failing fast: commands are not queued
 * while disconnected, a command slower than `commandTimeoutMs` fails, and reconnection happens
 * in the background. Every key carries `keyPrefix`. Callers issue single-key commands only
 * (a MULTI on one key at most), so the same code works on a Cluster, where keys of one call
 * must share a slot. The client is not connected yet (`lazyConnect`).
 */
export function createRedisClient(options: RedisClientOptions): RedisClient {
  const url = new URL(options.url);
  const tls = url.protocol === "rediss:" ? {} : undefined;
  const password = url.password === "" ? undefined : decodeURIComponent(url.password);
  const username = url.username === "" ? undefined : decodeURIComponent(url.username);
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  const endpoints = [`${url.hostname}:${url.port || (options.type === "sentinel" ? "26379" : "6379")}`, ...options.nodes].map(hostPort);
  const common = {
    connectTimeout: options.connectTimeoutMs,
    commandTimeout: options.commandTimeoutMs,
    maxRetriesPerRequest: 0,
    lazyConnect: true,
  };
  const backoff = (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2000);
  switch (options.type) {
    case "node":
      return traceRedisCommands(new Redis(options.url, { ...common, keyPrefix: options.keyPrefix, enableOfflineQueue: false, retryStrategy: backoff }));
    case "sentinel":
      if (options.sentinelName === "") throw new TypeError("redis: sentinel mode needs the primary's name");
      return traceRedisCommands(new Redis({
        ...common,
        sentinels: endpoints,
        name: options.sentinelName,
        username,
        password,
        sentinelPassword: password,
        db,
        tls,
        keyPrefix: options.keyPrefix,
        enableOfflineQueue: false,
        retryStrategy: backoff,
        sentinelRetryStrategy: backoff,
      }));
    case "cluster":
      if (db !== 0) throw new TypeError("redis: a Redis Cluster has only database 0");
      return traceRedisCommands(new Cluster(endpoints, {
        keyPrefix: options.keyPrefix,
        enableOfflineQueue: false,
        clusterRetryStrategy: backoff,
        lazyConnect: true,
        redisOptions: { ...common, username, password, tls },
      }));
  }
}

function hostPort(text: string): { host: string; port: number } {
  const m = hostPortPattern.exec(text);
  if (m === null) throw new TypeError(`redis: ${text} is not host:port`);
  return { host: m[1]!, port: Number(m[2]) };
}
