import { systemClock, type Clock } from "../clock.js";

/** Options of {@link createFailOpen}. */
export interface FailOpenOptions {
  /**
   * After a failure, how long {@link FailOpen.run} leaves the backend alone (answering from the
   * fallback) before it lets a call through to probe it, in milliseconds. 0: every call tries.
   */
  retryAfterMs?: number;
  /** Told once when an outage starts, with the error that started it. */
  onDown?: (err: unknown) => void;
  /** Told once when a call works again after an outage. */
  onUp?: () => void;
  clock?: Clock;
}

/** A backend's outage state: calls that fall back while it is down, and back off from it. */
export interface FailOpen {
  /**
   * Runs `attempt` on the backend, or `fallback` instead when the backend failed less than
   * `retryAfterMs` ago or `attempt` throws (a hung backend then costs one timeout per interval,
   * not one per call). An error of `fallback` is thrown.
   */
  run<T>(attempt: () => Promise<T>, fallback: () => T | Promise<T>): Promise<T>;
  /** Runs `attempt` whatever the back-off (a call that must not be skipped), notes how it went, and rethrows its error. */
  attempt<T>(attempt: () => Promise<T>): Promise<T>;
  /** Whether the last call failed. */
  readonly down: boolean;
}

/**
 * Creates the state of one backend (Redis, the database) for callers that keep serving while
 * it is down: the outage is told once when it starts (`onDown`) and once when it ends (`onUp`).
 */
export function createFailOpen(options: FailOpenOptions = {}): FailOpen {
  const { retryAfterMs = 0, onDown, onUp, clock = systemClock } = options;
  let down = false;
  let retryAt = 0;
  const failed = (err: unknown) => {
    retryAt = clock.now() + retryAfterMs;
    if (down) return;
    down = true;
    onDown?.(err);
  };
  const worked = () => {
    if (!down) return;
    down = false;
    onUp?.();
  };
  const attempt = async <T>(op: () => Promise<T>): Promise<T> => {
    try {
      const result = await op();
      worked();
      return result;
    } catch (err) {
      failed(err);
      throw err;
    }
  };
  return {
    async run(op, fallback) {
      if (down && clock.now() < retryAt) return fallback();
      return attempt(op).catch(() => fallback());
    },
    attempt,
    get down() {
      return down;
    },
  };
}

/** What a log line says of a backend's error: its `code` (`ECONNREFUSED`, `ETIMEDOUT`), else its name. */
export function failureCode(err: unknown): unknown {
  const e = err as { code?: unknown; name?: unknown } | null | undefined;
  return e?.code ?? e?.name;
}
