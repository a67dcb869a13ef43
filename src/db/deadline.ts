/** A database call that took longer than its deadline; maps to `unavailable`. */
export class DeadlineError extends Error {
  override name = "DeadlineError";
  readonly code = "DB_DEADLINE";
  constructor(ms: number) {
    super(`database call exceeded ${ms} ms`);
  }
}

/**
 * Wraps every method of a store so that its promise rejects with {@link DeadlineError} after
 * `ms`: a database that stops answering makes calls fail in bounded time instead of hanging.
 */
export function withDeadline<T extends object>(store: T, ms: number): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(store)) {
    wrapped[name] =
      typeof fn !== "function"
        ? fn
        : (...args: unknown[]) =>
            new Promise((resolve, reject) => {
              const timer = setTimeout(() => reject(new DeadlineError(ms)), ms);
              (fn as (...a: unknown[]) => Promise<unknown>).apply(store, args).then(
                (v) => (clearTimeout(timer), resolve(v)),
                (e) => (clearTimeout(timer), reject(e)),
              );
            });
  }
  return wrapped as T;
}
