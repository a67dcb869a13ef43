import cluster from "node:cluster";
import { sql } from "kysely";
import { withVerifiedTokenCache, type CachedVerifier } from "protogate/jwt";
import { loadKeyRing } from "../auth/key-config.js";
import { createRevocationMirror } from "../auth/revocations.js";
import { createTokenService, type AccessToken, type TokenService } from "../auth/tokens.js";
import { systemClock } from "../clock.js";
import type { Config } from "../config.js";
import { withDeadline } from "../db/deadline.js";
import type { AuthEvents } from "../events/auth-events.js";
import { createHealthState, type HealthState } from "../health/health-state.js";
import { createLogger } from "../logger.js";
import { createMetrics } from "../observability/metrics.js";
import { createSessions, type Sessions } from "../user/sessions.js";
import { openStorage, type StorageContext, type StorageOptions } from "./storage.js";

/**
 * Every long-lived resource of the process, opened from the config in one place and closed
 * in one place (go-zero's `svc.ServiceContext`): the storage, and the keys, sessions,
 * revocations and readiness a server adds. Services and logic declare the narrow slices they
 * use; the composition root passes them in.
 */
export interface ServiceContext extends StorageContext {
  /** The token service, its access tokens verified through the verified-token cache (a hit is the token itself, not a promise). */
  readonly tokens: CachedVerifier<TokenService>;
  /**
   * Revoked access tokens, sessions and users, mirrored in this process from the database's
   * `auth_event` log (checked per call without a round trip), and how to add to them.
   */
  readonly revocations: Revocations;
  /** Refresh sessions: started by Login, rotated by Refresh, ended by Logout. */
  readonly sessions: Sessions;
  /** Readiness: the database answering, and not shutting down. */
  readonly health: HealthState;
}

/** The revocations as the serving path sees them: checked in memory, written through the log. */
export interface Revocations {
  isRevoked(token: AccessToken): boolean;
  /** False until the log has been read once: then nothing is known, and checks fail closed. */
  readonly synced: boolean;
  /** Live revocations held. */
  readonly size: number;
  publish: AuthEvents["publish"];
  /** Drops the expired entries of the mirror (the sweep job's work, see `jobs.ts`). */
  sweep(): void;
}

/** Seams of {@link openServiceContext} for tests and tools; production passes none. */
export interface ServiceContextOptions extends StorageOptions {
  /** How often readiness checks the database, in milliseconds (default 2000). */
  healthIntervalMs?: number;
  /** Whether this process issues tokens (serves UserService); a verifier alone may use a JWKS URL only. */
  signs?: boolean;
}

/**
 * Opens the app's resources: reads the keys first (refusing a weak secret or a bad key before
 * anything else is opened), then the storage, then what a server adds on top (token service,
 * readiness, the revocation mirror fed by the auth event log, sessions). Starts no background
 * job: the composition root starts those (`jobs.ts`) and stops them before `close()`.
 */
export async function openServiceContext(config: Config, options: ServiceContextOptions = {}): Promise<ServiceContext> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ name: config.name, ...config.log });
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
  const storage = await openStorage(config, { ...options, logger, clock, metrics: options.metrics ?? createMetrics({ process: true, cluster: cluster.isWorker }) });
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
  const revocations: Revocations = {
    isRevoked: mirror.isRevoked,
    get synced() {
      return storage.events.synced;
    },
    get size() {
      return mirror.size;
    },
    publish: storage.events.publish,
    sweep: mirror.sweep,
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
  return {
    ...storage,
    tokens,
    revocations,
    sessions,
    health,
    close() {
      ring.remoteKeys?.close?.();
      health.close();
      return storage.close();
    },
  };
}
