import { loadKeyRing } from "./auth/key-config.js";
import { createPasswordHasher, type Argon2Params, type PasswordHasher } from "./auth/password.js";
import { createTokenService, type AccessToken, type TokenService } from "./auth/tokens.js";
import { withVerifiedTokenCache } from "protogate/jwt";
import { epochSeconds, systemClock, type Clock } from "./clock.js";
import { ConfigError, type Config } from "./config.js";
import { isUnavailableError } from "./errors.js";
import { join } from "node:path";
import { createLoginLimiter, createMemoryCounterStore, createRedisCounterStore, withFallback, type CounterStore, type LoginLimiter } from "./auth/login-limiter.js";
import type { Cache } from "./cache/cache.js";
import type { RedisClient } from "./cache/redis-client.js";
import { createRevocationMirror } from "./auth/revocations.js";
import { createAuthEventLog } from "./events/auth-event-log.js";
import { createAuthEvents, type AuthEvents } from "./events/auth-events.js";
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
  /** Brute-force limits for Login (in-process, per instance, while Redis is down). */
  readonly limiter: LoginLimiter;
  /** The Redis client when CacheRedis.Url is set: shared state for every instance. */
  readonly redis: RedisClient | undefined;
  readonly users: UserStore;
  readonly books: BookStore;
  readonly passwords: PasswordHasher;
  readonly tokens: TokenService;
  /**
   * Revoked access tokens, sessions and users, mirrored in this process from the database's
   * `auth_event` log (checked per call without a round trip), and how to add to them.
   */
  readonly revocations: Revocations;
  /** Refresh sessions: started by Login, rotated by Refresh, ended by Logout. */
  readonly sessions: Sessions;
  /** Readiness: the database answering, and not shutting down. */
  readonly health: HealthState;
  /** Closes everything opened here; safe to call twice. */
  close(): Promise<void>;
}

/** The revocations as the serving path sees them: checked in memory, written through the log. */
export interface Revocations {
  isRevoked(token: AccessToken): boolean;
  /** False until the log has been read once: then nothing is known, and checks fail closed. */
  readonly synced: boolean;
  /** Live revocations held. */
  readonly size: number;
  publish: AuthEvents["publish"];
}

/** Seams for tests and tools; production passes none. */
export interface ServiceContextOptions {
  logger?: Logger;
  clock?: Clock;
  /** Run pending migrations; defaults to `Database.AutoMigrate`. */
  migrate?: boolean;
  /** argon2id's parameters for new hashes (default: OWASP's m=19 MiB, t=2, p=1); tests lower them. */
  passwordCost?: Argon2Params;
  /** Called with each SQL statement run; tests count database round trips with it. */
  onQuery?: (sql: string) => void;
  /** How often readiness checks the database, in milliseconds (default 2000). */
  healthIntervalMs?: number;
  metrics?: Metrics;
  /** Whether this process issues tokens (serves UserService); a verifier alone may use a JWKS URL only. */
  signs?: boolean;
  /** How often the auth event log is read, in milliseconds (default: 100 on SQLite, 1000 on MySQL). */
  authEventsIntervalMs?: number;
}

/** The part of the context that maintenance commands (`migrate`, `user add`) need: no keys. */
export type StorageContext = Omit<ServiceContext, "tokens" | "health" | "revocations" | "sessions"> & {
  /** Refresh sessions in the database (maintenance ends them on a password change). */
  readonly sessionStore: SessionStore;
  /** Revocations and unlocks for every instance (maintenance writes them; servers also read them). */
  readonly events: AuthEvents;
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
  // the catalog changes only by migration, so each process caches it in memory with no
  // cross-process invalidation (no epoch file check, and no Redis round trip per Do)
  const catalogCache = createMemoryCache({ maxEntries: cacheConfig.maxEntries, clock });
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
    books: createCachedBookStore(bounded(createBookStore(database.db)), catalogCache, { ...cacheConfig, onLookup: metrics.bookCacheLookup }),
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

/**
 * Opens the whole service context: reads the keys first (refusing a weak secret or a bad key
 * before anything else is opened), then the storage.
 */
export async function createServiceContext(config: Config, options: ServiceContextOptions = {}): Promise<ServiceContext> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ name: config.name, level: config.log.level });
  const { auth } = config;
  const ring = await loadKeyRing(config, { signs: options.signs ?? true, clock, logger });
  const service = await createTokenService({
    ...ring,
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
  const mirror = createRevocationMirror(clock);
  storage.events.onEvent((e) => {
    if (e.kind === "unlock") void storage.limiter.unlock(e.subject);
    else mirror.apply(e);
  });
  if (!(await storage.events.start())) logger.warn("revocations not loaded: authenticated calls are unavailable until the database answers");
  const sweeping = setInterval(() => mirror.sweep(), 60_000).unref();
  const revocations: Revocations = {
    isRevoked: mirror.isRevoked,
    get synced() {
      return storage.events.synced;
    },
    get size() {
      return mirror.size;
    },
    publish: storage.events.publish,
  };
  const sessions = createSessions({
    store: storage.sessionStore,
    cache: storage.cache,
    tokens,
    users: storage.users,
    revocations,
    clock,
    accessExpire: auth.accessExpire,
    maxRevocations: auth.maxRevocations,
    logger,
  });
  // expired refresh tokens go away hourly (and once soon after start), on whichever instance
  const prune = () =>
    Promise.all([storage.sessionStore.prune(epochSeconds(clock)), storage.events.prune()]).then(
      ([n, e]) => (n > 0 || e > 0) && logger.info({ tokens: n, authEvents: e }, "expired refresh tokens and auth events deleted"),
      (err) => logger.warn({ code: (err as { code?: unknown })?.code }, "could not delete expired refresh tokens or auth events"),
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
      clearInterval(sweeping);
      ring.remoteKeys?.close?.();
      health.close();
      return storage.close();
    },
  };
}
