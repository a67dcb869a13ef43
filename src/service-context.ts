import { loadKeyRing } from "./auth/key-config.js";
import { createPasswordHasher, type PasswordHasher } from "./auth/password.js";
import { createTokenService, type TokenService } from "./auth/tokens.js";
import { withVerifiedTokenCache } from "./auth/verified-token-cache.js";
import { epochSeconds, systemClock, type Clock } from "./clock.js";
import { ConfigError, type Config } from "./config.js";
import { isUnavailableError } from "./errors.js";
import { join } from "node:path";
import { createLoginLimiter, createMemoryCounterStore, createRedisCounterStore, failOpen, type CounterStore, type LoginLimiter } from "./auth/login-limiter.js";
import type { Cache } from "./cache/cache.js";
import type { RedisClient } from "./cache/redis-client.js";
import { createMemoryRevocationStore, createRedisRevocationStore, type RevocationStore } from "./auth/revocations.js";
import { createEpochFile, createMemoryCache } from "./cache/memory-cache.js";
import { createRedisCache } from "./cache/redis-cache.js";
import { createResilientCache } from "./cache/resilient-cache.js";
import { openDatabase, type DatabaseHandle } from "./db/connect.js";
import { withDeadline } from "./db/deadline.js";
import { sql } from "kysely";
import { createHealthState, type HealthState } from "./health/health-state.js";
import { createMetrics, type Metrics } from "./observability/metrics.js";
import { migrateToLatest } from "./db/migrations.js";
import { createLogger, type Logger } from "./logger.js";
import { createBookStore, type BookStore } from "./search/book-store.js";
import { createCachedBookStore } from "./search/cached-book-store.js";
import { createCachedUserStore } from "./user/cached-user-store.js";
import { createUserStore, type UserStore } from "./user/user-store.js";
import { createSessionStore, type SessionStore } from "./user/session-store.js";
import { createSessions, type Sessions } from "./user/sessions.js";

/**
 * Every long-lived resource of the process, opened from the config in one place and closed
 * in one place (go-zero's `svc.ServiceContext`). Handlers and logic take narrow slices of it.
 */
export interface ServiceContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly database: DatabaseHandle;
  /** The serving-path cache: misses, never throws, while its backend is down. */
  readonly cache: Cache;
  readonly metrics: Metrics;
  /** Brute-force limits for Login (skipped, with a warning, while their store is down). */
  readonly limiter: LoginLimiter;
  /** The Redis client when CacheRedis.Url is set: shared state for every instance. */
  readonly redis: RedisClient | undefined;
  readonly users: UserStore;
  readonly books: BookStore;
  readonly passwords: PasswordHasher;
  readonly tokens: TokenService;
  /** Revoked access tokens and sessions (logout): Redis when configured, else in-process. */
  readonly revocations: RevocationStore;
  /** Refresh sessions: started by Login, rotated by Refresh, ended by Logout. */
  readonly sessions: Sessions;
  /** Readiness: the database answering, and not shutting down. */
  readonly health: HealthState;
  /** Closes everything opened here; safe to call twice. */
  close(): Promise<void>;
}

/** Seams for tests and tools; production passes none. */
export interface ServiceContextOptions {
  logger?: Logger;
  clock?: Clock;
  /** Run pending migrations; defaults to `Database.AutoMigrate`. */
  migrate?: boolean;
  /** log2 of scrypt's N for new hashes (default 15); tests lower it. */
  passwordCost?: number;
  /** Called with each SQL statement run; tests count database round trips with it. */
  onQuery?: (sql: string) => void;
  /** How often readiness checks the database, in milliseconds (default 2000). */
  healthIntervalMs?: number;
  metrics?: Metrics;
  /** Whether this process issues tokens (serves UserService); a verifier alone may use a JWKS URL only. */
  signs?: boolean;
}

/** The part of the context that maintenance commands (`migrate`, `user add`) need: no keys. */
export type StorageContext = Omit<ServiceContext, "tokens" | "health" | "revocations" | "sessions"> & {
  /** Refresh sessions in the database (maintenance ends them on a password change). */
  readonly sessionStore: SessionStore;
};

/**
 * Opens the database (migrating it when configured to) and the stores on it. On failure,
 * closes what it opened and throws.
 */
export async function openStorage(config: Config, options: ServiceContextOptions = {}): Promise<StorageContext> {
  const logger = options.logger ?? createLogger({ name: config.name, level: config.log.level });
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
    counters = createRedisCounterStore(redis.client);
  } else {
    counters = createMemoryCounterStore(clock);
    backend = createMemoryCache({
      maxEntries: cacheConfig.maxEntries,
      clock,
      epoch: createEpochFile(join(config.dataDir, "cache-epoch")),
    });
  }
  const cache = createResilientCache(backend, logger);
  // the catalog changes only by migration, so in-process it needs no cross-process invalidation
  // (no check of the CLI's epoch file on every read); with Redis it shares the one cache
  const catalogCache = redisClient ? cache : createMemoryCache({ maxEntries: cacheConfig.maxEntries, clock });
  const metrics = options.metrics ?? createMetrics();
  // better-sqlite3 answers synchronously: a deadline (a timer per call) only helps a network database
  const bounded = <T extends object>(store: T): T =>
    database.dialect === "mysql" ? withDeadline(store, dbConfig.queryTimeoutMs) : store;
  let closed: Promise<void> | undefined;
  return {
    config,
    logger,
    clock,
    database,
    cache,
    metrics,
    redis: redisClient,
    limiter: failOpen(createLoginLimiter(counters, config.loginLimits), (code) =>
      logger.warn({ code }, "login limits unavailable; not enforced until their store answers"),
    ),
    users: createCachedUserStore(bounded(createUserStore(database.db)), cache, {
      ...cacheConfig,
      onLookup: metrics.cacheLookup,
    }),
    books: createCachedBookStore(bounded(createBookStore(database.db)), catalogCache, { ...cacheConfig, onLookup: metrics.bookCacheLookup }),
    sessionStore: bounded(createSessionStore(database.db)),
    passwords: createPasswordHasher({ cost: options.passwordCost }),
    close() {
      closed ??= Promise.all([cache.close(), database.close()]).then(() => undefined);
      return closed;
    },
  };
}

/** The revocation store: Redis when configured (shared by every instance), else this process. */
export function revocationStoreOf(storage: Pick<StorageContext, "redis" | "clock">): RevocationStore {
  return storage.redis ? createRedisRevocationStore(storage.redis) : createMemoryRevocationStore(storage.clock);
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

/**
 * Opens the whole service context: reads the keys first (refusing a weak secret or a bad key
 * before anything else is opened), then the storage.
 */
export async function createServiceContext(config: Config, options: ServiceContextOptions = {}): Promise<ServiceContext> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ name: config.name, level: config.log.level });
  const { auth } = config;
  const service = await createTokenService({
    ...(await loadKeyRing(config, { signs: options.signs ?? true, clock, logger })),
    accessExpire: auth.accessExpire,
    refreshExpire: auth.refreshExpire,
    clock,
    issuer: auth.issuer || undefined,
    audience: auth.audience || undefined,
    clockTolerance: auth.clockTolerance,
  });
  const tokens = withVerifiedTokenCache(service, {
    maxEntries: config.auth.verifiedTokenCache,
    clock,
  });
  const storage = await openStorage(config, { ...options, logger, clock, metrics: options.metrics ?? createMetrics({ process: true }) });
  const ping = withDeadline({ ping: () => sql`select 1`.execute(storage.database.db) }, config.database.queryTimeoutMs);
  const health = createHealthState({
    check: () => ping.ping().then(() => true),
    intervalMs: options.healthIntervalMs ?? 2000,
    logger: storage.logger,
  });
  const revocations = revocationStoreOf(storage);
  const sessions = createSessions({
    store: storage.sessionStore,
    cache: storage.cache,
    tokens,
    users: storage.users,
    revocations,
    clock,
    accessExpire: auth.accessExpire,
    logger,
  });
  // expired refresh tokens go away hourly (and once soon after start), on whichever instance
  const prune = () =>
    storage.sessionStore.prune(epochSeconds(clock)).then(
      (n) => n > 0 && logger.info({ tokens: n }, "expired refresh tokens deleted"),
      (err) => logger.warn({ code: (err as { code?: unknown })?.code }, "could not delete expired refresh tokens"),
    );
  const firstPrune = setTimeout(prune, 10_000).unref();
  const pruning = setInterval(prune, 3600_000).unref();
  return {
    ...storage,
    tokens,
    revocations,
    sessions,
    health,
    close() {
      clearTimeout(firstPrune);
      clearInterval(pruning);
      health.close();
      return storage.close();
    },
  };
}
