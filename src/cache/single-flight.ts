/**
 * Coalesces concurrent calls for one key into a single call: while a load for `key` is in
 * flight, later callers share its promise. Stops a cold key from stampeding the database.
 */
export function createSingleFlight(): <T>(key: string, load: () => Promise<T>) => Promise<T> {
  const inflight = new Map<string, Promise<unknown>>();
  return <T>(key: string, load: () => Promise<T>): Promise<T> => {
    const running = inflight.get(key);
    if (running !== undefined) return running as Promise<T>;
    const p = load().finally(() => inflight.delete(key));
    inflight.set(key, p);
    return p;
  };
}
