import type { RedisClient } from "../cache/redis-client.js";
import type { Clock } from "../clock.js";
import { AppError } from "../errors.js";

/** Limits on login attempts, each counted over `windowSeconds`. */
export interface LoginLimits {
  /** Failed logins for one username before it is locked for the rest of the window. */
  readonly maxFailuresPerUser: number;
  /** Login attempts from one client address before it is refused for the rest of the window. */
  readonly maxAttemptsPerAddress: number;
  readonly windowSeconds: number;
}

/** Counters with a lifetime: Redis when shared, in-process otherwise. */
export interface CounterStore {
  /** Adds one to `key` (starting its window if new); returns the count and seconds left. */
  increment(key: string, windowSeconds: number): Promise<{ count: number; ttl: number }>;
  get(key: string): Promise<{ count: number; ttl: number }>;
  reset(key: string): Promise<void>;
}

/** Brute-force limits for Login, per username and per client address. */
export interface LoginLimiter {
  /** Throws `rate_limited` (with a retry-after) when either limit is reached; counts the attempt. */
  attempt(username: string, address: string | undefined): Promise<void>;
  failed(username: string): Promise<void>;
  succeeded(username: string): Promise<void>;
}

const userKey = (u: string) => `login:fail:user:${u}`;
const addressKey = (a: string) => `login:attempt:addr:${a}`;

/** Creates the limiter over a counter store. */
export function createLoginLimiter(store: CounterStore, limits: LoginLimits): LoginLimiter {
  const refuse = (ttl: number) => {
    throw new AppError("rate_limited", `too many login attempts; retry after ${ttl} s`, { retryAfterSeconds: ttl });
  };
  return {
    async attempt(username, address) {
      const user = await store.get(userKey(username));
      if (user.count >= limits.maxFailuresPerUser) refuse(user.ttl);
      if (address !== undefined) {
        const a = await store.increment(addressKey(address), limits.windowSeconds);
        if (a.count > limits.maxAttemptsPerAddress) refuse(a.ttl);
      }
    },
    async failed(username) {
      await store.increment(userKey(username), limits.windowSeconds);
    },
    async succeeded(username) {
      await store.reset(userKey(username));
    },
  };
}

/** Counters in this process's memory (the embedded default; one instance only). */
export function createMemoryCounterStore(clock: Clock, maxKeys = 100_000): CounterStore {
  const counters = new Map<string, { count: number; until: number }>();
  const live = (key: string) => {
    const c = counters.get(key);
    if (c !== undefined && c.until <= clock.now()) {
      counters.delete(key);
      return undefined;
    }
    return c;
  };
  const ttl = (c: { until: number } | undefined) => (c === undefined ? 0 : Math.ceil((c.until - clock.now()) / 1000));
  return {
    async increment(key, windowSeconds) {
      let c = live(key);
      if (c === undefined) {
        c = { count: 0, until: clock.now() + windowSeconds * 1000 };
        counters.set(key, c);
        if (counters.size > maxKeys) counters.delete(counters.keys().next().value!);
      }
      c.count++;
      return { count: c.count, ttl: ttl(c) };
    },
    async get(key) {
      const c = live(key);
      return { count: c?.count ?? 0, ttl: ttl(c) };
    },
    async reset(key) {
      counters.delete(key);
    },
  };
}

/** Counters in Redis, shared by every instance: INCR, with the window set on the first. */
export function createRedisCounterStore(client: RedisClient): CounterStore {
  return {
    async increment(key, windowSeconds) {
      const res = await client.multi().incr(key).expire(key, windowSeconds, "NX").ttl(key).exec();
      return { count: Number(res?.[0]?.[1] ?? 0), ttl: Math.max(Number(res?.[2]?.[1] ?? windowSeconds), 1) };
    },
    async get(key) {
      const res = await client.multi().get(key).ttl(key).exec();
      return { count: Number(res?.[0]?.[1] ?? 0), ttl: Math.max(Number(res?.[1]?.[1] ?? 0), 0) };
    },
    async reset(key) {
      await client.del(key);
    },
  };
}

/**
 * Keeps Login available when the counter store cannot be reached (Redis down or hung): the
 * limits are skipped, not enforced, and the outage is logged once. After a failure the store is
 * left alone for `retryAfterMs` before it is tried again, so a hung Redis does not slow every
 * login by its command timeout. A refusal (`rate_limited`) passes through.
 */
export function failOpen(limiter: LoginLimiter, warn: (code: unknown) => void, retryAfterMs = 1000): LoginLimiter {
  let warned = false;
  let retryAt = 0;
  const guard = async (fn: () => Promise<void>) => {
    if (Date.now() < retryAt) return;
    try {
      await fn();
      warned = false;
    } catch (err) {
      if (err instanceof AppError) throw err;
      retryAt = Date.now() + retryAfterMs;
      if (!warned) warn((err as { code?: unknown })?.code ?? (err as Error)?.name);
      warned = true;
    }
  };
  return {
    attempt: (u, a) => guard(() => limiter.attempt(u, a)),
    failed: (u) => guard(() => limiter.failed(u)),
    succeeded: (u) => guard(() => limiter.succeeded(u)),
  };
}
