import type { RedisClient } from "../cache/redis-client.js";
import { systemClock, type Clock } from "../clock.js";
import { AppError } from "../errors.js";
import { createBoundedMap } from "../lib/bounded-map.js";
import { createFailOpen, failureCode } from "../lib/fail-open.js";

/** Limits on login attempts, each counted over `windowSeconds`. */
export interface LoginLimits {
  /** Failed logins for one username from one client address before that pair is locked for the window. */
  readonly maxFailuresPerUser: number;
  /** Login attempts from one client address before it is refused for the rest of the window. */
  readonly maxAttemptsPerAddress: number;
  /**
   * Failed logins for one username from all addresses after which its attempts are spaced out:
   * 1 s after the next failure, then 2, 4, ... up to `maxDelaySeconds` (never a lock-out).
   */
  readonly slowdownAfter: number;
  readonly maxDelaySeconds: number;
  readonly windowSeconds: number;
}

/**
 * Counters with a lifetime, and one-holder slots: Redis when shared, in-process otherwise.
 * Each operation touches one key, so a Redis Cluster needs no cross-slot command.
 */
export interface CounterStore {
  /** Adds `delta` to `key` (starting its window if new); returns the count and seconds left. */
  add(key: string, delta: number, windowSeconds: number): Promise<{ count: number; ttl: number }>;
  /** The same on one field of a hash (the window is the hash's). */
  addField(key: string, field: string, delta: number, windowSeconds: number): Promise<{ count: number; ttl: number }>;
  /** Takes `key` for `ms` if nobody holds it; otherwise says in how many ms it frees. */
  claim(key: string, ms: number): Promise<{ ok: boolean; retryMs: number }>;
  /** Deletes keys, or one field of a hash. */
  del(key: string, field?: string): Promise<void>;
}

/** One login attempt that got past the limits: it counts as a failure unless it succeeds. */
export interface LoginTicket {
  succeeded(): Promise<void>;
}

/** Brute-force limits for Login. */
export interface LoginLimiter {
  /**
   * Counts the attempt before any hashing (so N parallel guesses let at most the limit through)
   * or throws `rate_limited` with a retry-after: the address made too many attempts, this
   * username failed too often from this address, or its attempts are being spaced out.
   */
  reserve(username: string, address: string | undefined): Promise<LoginTicket>;
  /** Clears the username's counters (`bookstore user unlock`). */
  unlock(username: string): Promise<void>;
}

const pairKey = (u: string) => `login:fail:user:${u}`;
const totalKey = (u: string) => `login:total:user:${u}`;
const slowKey = (u: string) => `login:slow:user:${u}`;
const addressKey = (a: string) => `login:attempt:addr:${a}`;

/**
 * Creates the limiter over a counter store. Locking is per (username, address), so five wrong
 * guesses from elsewhere do not lock the owner out; across addresses a username is slowed
 * (growing delays between attempts) rather than locked (OWASP Authentication Cheat Sheet,
 * "Account Lockout": lock-outs let anyone deny service to any account).
 */
export function createLoginLimiter(store: CounterStore, limits: LoginLimits): LoginLimiter {
  const refuse = (seconds: number): never => {
    const s = Math.max(1, Math.ceil(seconds));
    throw new AppError("rate_limited", `too many login attempts; retry after ${s} s`, { retryAfterSeconds: s });
  };
  const window = limits.windowSeconds;
  return {
    async reserve(username, address) {
      const from = address ?? "unknown";
      const a = await store.add(addressKey(from), 1, window);
      if (a.count > limits.maxAttemptsPerAddress) refuse(a.ttl);
      const pair = await store.addField(pairKey(username), from, 1, window);
      if (pair.count > limits.maxFailuresPerUser) refuse(pair.ttl);
      const total = await store.add(totalKey(username), 1, window);
      const over = total.count - limits.slowdownAfter;
      if (over > 0) {
        const delayMs = Math.min(2 ** Math.min(over - 1, 30), limits.maxDelaySeconds) * 1000;
        const slot = await store.claim(slowKey(username), delayMs);
        if (!slot.ok) {
          // this attempt never reaches the hash: give back what it reserved
          await store.add(totalKey(username), -1, window);
          await store.addField(pairKey(username), from, -1, window);
          refuse(slot.retryMs / 1000);
        }
      }
      return {
        async succeeded() {
          await store.del(pairKey(username), from);
          await store.del(totalKey(username));
        },
      };
    },
    async unlock(username) {
      await store.del(pairKey(username));
      await store.del(totalKey(username));
      await store.del(slowKey(username));
    },
  };
}

/** Counters in this process's memory (the embedded default, and the fallback while Redis is down). */
export function createMemoryCounterStore(clock: Clock, maxKeys = 100_000): CounterStore {
  // the oldest windows are dropped beyond `maxKeys`, so a flood of usernames cannot grow it
  const counters = createBoundedMap<string, { count: number; fields: Map<string, number>; until: number }>(maxKeys);
  const live = (key: string, windowSeconds: number) => {
    let c = counters.get(key);
    if (c !== undefined && c.until <= clock.now()) {
      counters.delete(key);
      c = undefined;
    }
    if (c === undefined && windowSeconds > 0) {
      c = { count: 0, fields: new Map(), until: clock.now() + windowSeconds * 1000 };
      counters.set(key, c);
    }
    return c;
  };
  const ttl = (c: { until: number }) => Math.max(1, Math.ceil((c.until - clock.now()) / 1000));
  return {
    async add(key, delta, windowSeconds) {
      const c = live(key, windowSeconds)!;
      c.count = Math.max(0, c.count + delta);
      return { count: c.count, ttl: ttl(c) };
    },
    async addField(key, field, delta, windowSeconds) {
      const c = live(key, windowSeconds)!;
      const n = Math.max(0, (c.fields.get(field) ?? 0) + delta);
      c.fields.set(field, n);
      return { count: n, ttl: ttl(c) };
    },
    async claim(key, ms) {
      const c = live(key, 0);
      if (c !== undefined) return { ok: false, retryMs: c.until - clock.now() };
      counters.set(key, { count: 1, fields: new Map(), until: clock.now() + ms });
      return { ok: true, retryMs: 0 };
    },
    async del(key, field) {
      if (field === undefined) counters.delete(key);
      else counters.get(key)?.fields.delete(field);
    },
  };
}

/** Counters in Redis, shared by every instance: INCRBY / HINCRBY with the window set on the first. */
export function createRedisCounterStore(client: RedisClient): CounterStore {
  const result = (res: [Error | null, unknown][] | null, windowSeconds: number) => ({
    count: Number(res?.[0]?.[1] ?? 0),
    ttl: Math.max(Number(res?.[2]?.[1] ?? windowSeconds), 1),
  });
  return {
    async add(key, delta, windowSeconds) {
      return result(await client.multi().incrby(key, delta).expire(key, windowSeconds, "NX").ttl(key).exec(), windowSeconds);
    },
    async addField(key, field, delta, windowSeconds) {
      return result(await client.multi().hincrby(key, field, delta).expire(key, windowSeconds, "NX").ttl(key).exec(), windowSeconds);
    },
    async claim(key, ms) {
      if ((await client.set(key, "1", "PX", ms, "NX")) === "OK") return { ok: true, retryMs: 0 };
      return { ok: false, retryMs: Math.max(Number(await client.pttl(key)), 1) };
    },
    async del(key, field) {
      if (field === undefined) await client.del(key);
      else await client.hdel(key, field);
    },
  };
}

/**
 * Keeps the limits enforced when the shared store cannot be reached (Redis down or hung): each
 * operation that fails on it runs on the in-process `fallback` instead, so while Redis is down
 * every instance limits on its own (rate-limiter-flexible's "insurance" limiter, in four
 * functions). After a failure the shared store is left alone for `retryAfterMs`, so a hung
 * Redis does not slow every login by its command timeout. The outage is told once (`warn`,
 * with the error's code); its end is not.
 */
export function withFallback(
  shared: CounterStore,
  fallback: CounterStore,
  warn: (code: unknown) => void,
  retryAfterMs = 1000,
  clock: Clock = systemClock,
): CounterStore {
  const backend = createFailOpen({ retryAfterMs, clock, onDown: (err) => warn(failureCode(err)) });
  const run = <T>(op: (s: CounterStore) => Promise<T>): Promise<T> => backend.run(() => op(shared), () => op(fallback));
  return {
    add: (k, d, w) => run((s) => s.add(k, d, w)),
    addField: (k, f, d, w) => run((s) => s.addField(k, f, d, w)),
    claim: (k, ms) => run((s) => s.claim(k, ms)),
    // an unlock clears both, so nothing counted during an outage outlives it
    del: async (k, f) => {
      await fallback.del(k, f);
      await run((s) => s.del(k, f));
    },
  };
}
