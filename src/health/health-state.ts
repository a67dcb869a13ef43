import type { Logger } from "../logger.js";

/** Whether this process can do its work. */
export type Serving = "serving" | "not_serving";

/** The process's readiness: its dependencies' state, and whether it is shutting down. */
export interface HealthState {
  status(): Serving;
  /** Calls `listener` on every change; returns the function that stops it. */
  watch(listener: (status: Serving) => void): () => void;
  /** Flips to not_serving for good: the process is going away. */
  shutDown(): void;
  readonly shuttingDown: boolean;
  /** Stops the periodic check. */
  close(): void;
}

/**
 * Creates the health state: `check` (is the database answering?) runs every `intervalMs`;
 * the status is not_serving while it fails and from `shutDown()` on.
 */
export function createHealthState(options: { check: () => Promise<boolean>; intervalMs: number; logger: Logger }): HealthState {
  const listeners = new Set<(s: Serving) => void>();
  let dependenciesUp = true;
  let shuttingDown = false;
  let checking = false;
  const current = (): Serving => (dependenciesUp && !shuttingDown ? "serving" : "not_serving");
  const update = (change: () => void) => {
    const before = current();
    change();
    const after = current();
    if (after === before) return;
    options.logger.info({ status: after }, "health changed");
    for (const l of listeners) l(after);
  };
  const timer = setInterval(() => {
    if (checking || shuttingDown) return;
    checking = true;
    options.check().then(
      (up) => update(() => (dependenciesUp = up)),
      () => update(() => (dependenciesUp = false)),
    ).finally(() => (checking = false));
  }, options.intervalMs);
  timer.unref();
  return {
    status: current,
    watch(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    shutDown() {
      update(() => (shuttingDown = true));
    },
    get shuttingDown() {
      return shuttingDown;
    },
    close() {
      clearInterval(timer);
    },
  };
}
