/**
 * Calls a function for each key not settled within `ms`: one timer sweeps all pending keys
 * (started while any are pending), rather than one timer per request.
 */
export interface Deadlines {
  /** Starts `key`'s deadline; `expire` runs once if `settle(key)` has not been called by then. */
  start(key: object, expire: () => void): void;
  settle(key: object): void;
}

export function createDeadlines(ms: number): Deadlines {
  // one duration for all, so insertion order is deadline order
  const pending = new Map<object, { at: number; expire: () => void }>();
  let timer: NodeJS.Timeout | undefined;
  const every = Math.max(20, Math.min(250, Math.floor(ms / 4)));
  const sweep = () => {
    const now = performance.now();
    for (const [key, entry] of pending) {
      if (entry.at > now) break;
      pending.delete(key);
      entry.expire();
    }
    if (pending.size === 0 && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  };
  return {
    start(key, expire) {
      pending.set(key, { at: performance.now() + ms, expire });
      timer ??= setInterval(sweep, every).unref();
    },
    settle(key) {
      pending.delete(key);
    },
  };
}
