import type { RevocationMirror } from "../auth/revocations.js";
import { epochSeconds, type Clock } from "../clock.js";
import type { AuthEvents } from "../events/auth-events.js";
import type { Logger } from "../logger.js";
import type { SessionStore } from "../user/session-store.js";

/** Stops a background job: its timers are cleared (a run under way finishes on its own). */
export type StopJob = () => void;

/** What the prune job needs: the two stores it deletes expired rows from, a clock and a log. */
export interface PruneDeps {
  sessionStore: Pick<SessionStore, "prune">;
  events: Pick<AuthEvents, "prune">;
  clock: Clock;
  logger: Logger;
}

/** What the sweep job needs: the revocation mirror it drops expired entries from. */
export interface SweepDeps {
  revocations: Pick<RevocationMirror, "sweep">;
}

/**
 * Deletes expired refresh tokens (and the sessions left without one) and expired auth events,
 * once soon after start (10 s) and then hourly, on whichever instance runs it. A failure is
 * logged and the next run tries again.
 */
export function startPruning(deps: PruneDeps): StopJob {
  const { sessionStore, events, clock, logger } = deps;
  const prune = () =>
    Promise.all([sessionStore.prune(epochSeconds(clock)), events.prune()]).then(
      ([n, e]) => (n > 0 || e > 0) && logger.info({ tokens: n, authEvents: e }, "expired refresh tokens and auth events deleted"),
      (err) => logger.warn({ code: (err as { code?: unknown })?.code }, "could not delete expired refresh tokens or auth events"),
    );
  const firstPrune = setTimeout(prune, 10_000).unref();
  const pruning = setInterval(prune, 3600_000).unref();
  return () => {
    clearTimeout(firstPrune);
    clearInterval(pruning);
  };
}

/** Drops the revocation mirror's expired entries every minute. */
export function startRevocationSweep(deps: SweepDeps): StopJob {
  const { revocations } = deps;
  const sweeping = setInterval(() => revocations.sweep(), 60_000).unref();
  return () => clearInterval(sweeping);
}

/**
 * Starts every background job of a server (the revocation sweep, the prune); the returned
 * function stops them all, and is called before the resources are closed.
 */
export function startBackgroundJobs(deps: PruneDeps & SweepDeps): StopJob {
  const stopSweep = startRevocationSweep(deps);
  const stopPruning = startPruning(deps);
  return () => {
    stopPruning();
    stopSweep();
  };
}
