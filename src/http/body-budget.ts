/**
 * Bounds the bytes of request bodies held in memory while they arrive: per connection (an
 * HTTP/2 connection carries many streams, each buffering up to the message limit) and in total
 * for a port. A request takes what it reads and gives it back when its call ends.
 */
export interface BodyBudget {
  /** Takes `bytes` for a request on `connection`; false (nothing taken) when either bound would be passed. */
  take(connection: object, bytes: number): boolean;
  /** Gives back what a request took. */
  give(connection: object, bytes: number): void;
}

/** Creates a budget of `perConnection` bytes per connection and `total` bytes in all. */
export function createBodyBudget(limits: { perConnection: number; total: number }): BodyBudget {
  const byConnection = new WeakMap<object, number>();
  let total = 0;
  return {
    take(connection, bytes) {
      const mine = byConnection.get(connection) ?? 0;
      if (mine + bytes > limits.perConnection || total + bytes > limits.total) return false;
      byConnection.set(connection, mine + bytes);
      total += bytes;
      return true;
    },
    give(connection, bytes) {
      if (bytes === 0) return;
      byConnection.set(connection, (byConnection.get(connection) ?? bytes) - bytes);
      total -= bytes;
    },
  };
}
