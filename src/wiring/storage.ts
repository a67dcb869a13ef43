import { join } from "node:path";
import { createPasswordHasher, type Argon2Params, type PasswordHasher } from "../auth/password.js";
import { createLoginLimiter, createMemoryCounterStore, createRedisCounterStore, withFallback, type CounterStore, type LoginLimiter } from "../auth/login-limiter.js";
import type { Cache } from "../cache/cache.js";
import { createEpochFile, createMemoryCache } from "../cache/memory-cache.js";
import { createRedisCache } from "../cache/redis-cache.js";
import type { RedisClient } from "../cache/redis-client.js";
import { createResilientCache } from "../cache/resilient-cache.js";
import { systemClock, type Clock } from "../clock.js";
import { ConfigError, type Config } from "../config.js";
import { openDatabase, type DatabaseHandle } from "../db/connect.js";
import { withDeadline } from "../db/deadline.js";
import { migrateToLatest } from "../db/migrations.js";
import { isUnavailableError } from "../errors.js";
import { createAuthEventLog } from "../events/auth-event-log.js";
import { createAuthEvents, type AuthEvents } from "../events/auth-events.js";
import { createLogger, type Logger } from "../logger.js";
import { createMetrics, type Metrics } from "../observability/metrics.js";
import { createBookStore, type BookStore } from "../search/book-store.js";
import { createCachedBookStore } from "../search/cached-book-store.js";
import { createCachedUserStore } from "../user/cached-user-store.js";
import { createSessionStore, type SessionStore } from "../user/session-store.js";
import { createUserStore, type UserStore } from "../user/user-store.js";

/**
 * The storage of the process: the database and the stores on it, the caches, Redis, the login
 * limiter and the auth event log. It is what maintenance commands (`migrate`, `user add`) need:
 * no keys, no background jobs.
 */
export interface StorageContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly database: DatabaseHandle;
  /** The serving-path cache: misses, never throws, while its backend is down. */
  readonly cache: Cache;
  readonly metrics: Metrics;
  /** Brute-force limits for Login (in-process, per instance, while Redis is down). */
  readonly limiter: LoginLimiter;
  /** The Redis client when CacheRedis.Url is set: shared state for every instance. */
  readonly redis: RedisClient | undefined;
  readonly users: UserStore;
  readonly books: BookStore;
  readonly passwords: PasswordHasher;
  /** Refresh sessions in the database (maintenance ends them on a password change). */
  readonly sessionStore: SessionStore;
  /** Revocations and unlocks for every instance (maintenance writes them; servers also read them). */
  readonly events: AuthEvents;
  /** Closes everything opened here; safe to call twice. */
  close(): Promise<void>;
}

/** Seams of {@link openStorage} for tests and tools; production passes none. */
export interface StorageOptions {
  logger?: Logger;
  clock?: Clock;
  /** Run pending migrations; defaults to `Database.AutoMigrate`. */
  migrate?: boolean;
  /** argon2id's parameters for new hashes (default: OWASP's m=19 MiB, t=2, p=1); tests lower them. */
  passwordCost?: Argon2Params;
  /** Called with each SQL statement run; tests count database round trips with it. */
  onQuery?: (sql: string) => void;
  metrics?: Metrics;
  /** How often the auth event log is read, in milliseconds (default: 100 on SQLite, 1000 on MySQL). */
  authEventsIntervalMs?: number;
}

/**
 * Opens the database (migrating it when configured to) and the stores on it. On failure,
 * closes what it opened and throws.
 */
export async function openStorage(config: Config, options: StorageOptions = {}): Promise<StorageContext> {
  const logger = options.logger ?? createLogger({ name: config.name, ...config.log });
  const { database: dbConfig, cacheRedis, cache: cacheConfig } = config;
  const clock = options.clock ?? systemClock;
  const database = openDatabase(dbConfig.dataSource, {
    poolSize: dbConfig.poolSize,
    connectTimeoutMs: dbConfig.connectTimeoutMs,
    onQuery: options.onQuery,
  });
  try {
    if (options.migrate ?? config.database.autoMigrate) {
      const applied = await migrateToLatest(database.db, database.dialect);
      if (applied.length > 0) logger.info({ migrations: applied }, "database migrated");
    }
  } catch (err) {
    await database.close();
    if (isUnavailableError(err)) {
      const { code } = err as { code?: string };
      throw new ConfigError(`Database.DataSource (DATABASE_URL): cannot reach the database at ${hostOf(dbConfig.dataSource)} (${code ?? "no answer"})`);
    }
    throw err;
  }
  let backend: Cache;
  let counters: CounterStore;
  let redisClient: RedisClient | undefined;
  if (cacheRedis.url !== "") {
    const redis = createRedisCache(cacheRedis);
    redisClient = redis.client;
    if (!(await redis.connected)) logger.warn("cache (Redis) unreachable at start-up; serving from the database until it answers");
    backend = redis;
    counters = withFallback(createRedisCounterStore(redis.client), createMemoryCounterStore(clock), (code) =>
      logger.warn({ code }, "login limits store (Redis) unavailable; each instance limits on its own until it answers"),
    );
  } else {
    counters = createMemoryCounterStore(clock);
    backend = createMemoryCache({
      maxEntries: cacheConfig.maxEntries,
      clock,
      epoch: createEpochFile(join(config.dataDir, "cache-epoch")),
    });
  }
  const cache = createResilientCache(backend, logger);
  const metrics = options.metrics ?? createMetrics();
  // better-sqlite3 answers synchronously: a deadline (a timer per call) only helps a network database
  const bounded = <T extends object>(store: T): T =>
    database.dialect === "mysql" ? withDeadline(store, dbConfig.queryTimeoutMs) : store;
  const events = createAuthEvents({
    log: bounded(createAuthEventLog(database.db)),
    clock,
    logger,
    intervalMs: options.authEventsIntervalMs ?? (database.dialect === "sqlite" ? 100 : 1000),
    redis: redisClient,
    channelPrefix: cacheRedis.keyPrefix,
  });
  let closed: Promise<void> | undefined;
  return {
    config,
    logger,
    clock,
    database,
    cache,
    metrics,
    redis: redisClient,
    limiter: createLoginLimiter(counters, config.loginLimits),
    users: createCachedUserStore(bounded(createUserStore(database.db)), cache, {
      ...cacheConfig,
      onLookup: metrics.cacheLookup,
    }),
    // the catalog changes only by migration, so each process caches it in memory with no
    // cross-process invalidation (no epoch file check, and no Redis round trip per Do)
    books: createCachedBookStore(bounded(createBookStore(database.db)), { ...cacheConfig, clock, onLookup: metrics.bookCacheLookup }),
    sessionStore: bounded(createSessionStore(database.db)),
    events,
    passwords: createPasswordHasher({ params: options.passwordCost }),
    close() {
      closed ??= events.close().then(() => Promise.all([cache.close(), database.close()])).then(() => undefined);
      return closed;
    },
  };
}

/** host:port of a data source, for messages; never the credentials. */
function hostOf(dataSource: string): string {
  try {
    const u = new URL(dataSource);
    return u.port ? `${u.hostname}:${u.port}` : u.hostname;
  } catch {
    return "the configured address";
  }
}
