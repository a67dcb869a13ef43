import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { RedisClient } from "../../src/cache/redis-client.js";
import {
  createLoginLimiter,
  createMemoryCounterStore,
  createRedisCounterStore,
  withFallback,
  type CounterStore,
  type LoginLimits,
} from "../../src/auth/login-limiter.js";
import { AppError } from "../../src/errors.js";
import { manualClock } from "./support.js";

const limits: LoginLimits = { maxFailuresPerUser: 3, maxAttemptsPerAddress: 6, slowdownAfter: 100, maxDelaySeconds: 8, windowSeconds: 60 };
const setup = (l: Partial<LoginLimits> = {}) => {
  const clock = manualClock(Date.UTC(2026, 0, 1));
  const store = createMemoryCounterStore(clock);
  return { clock, store, limiter: createLoginLimiter(store, { ...limits, ...l }) };
};

/** The retry-after of a refused attempt, or undefined when it got through. */
async function refusal(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    assert.ok(err instanceof AppError, String(err));
    assert.equal(err.kind, "rate_limited");
    assert.equal(err.message, `rate_limited: too many login attempts; retry after ${err.retryAfterSeconds} s`);
    return err.retryAfterSeconds;
  }
}

describe("login limiter", () => {
  test("per username and address: N failures get through, the N+1st is refused for the rest of the window", async () => {
    const { clock, limiter } = setup();
    for (let i = 0; i < 3; i++) await limiter.reserve("alice", "10.0.0.1");
    clock.advance(10_500);
    assert.equal(await refusal(limiter.reserve("alice", "10.0.0.1")), 50, "ceil(49.5 s) left");
    assert.equal(await refusal(limiter.reserve("bob", "10.0.0.2")), undefined, "another user is not affected");
    assert.equal(await refusal(limiter.reserve("alice", "10.0.0.2")), undefined, "nor the same user elsewhere (no lock-out by strangers)");
    clock.advance(49_499);
    assert.notEqual(await refusal(limiter.reserve("alice", "10.0.0.1")), undefined, "still locked 1 ms before the window ends");
    clock.advance(1);
    assert.equal(await refusal(limiter.reserve("alice", "10.0.0.1")), undefined, "the window is over");
  });

  test("a success clears this address's failures and the user's total, not other addresses'", async () => {
    const { limiter } = setup();
    for (let i = 0; i < 3; i++) await limiter.reserve("alice", "a");
    for (let i = 0; i < 3; i++) await limiter.reserve("alice", "b");
    const ticket = await refusal(limiter.reserve("alice", "c")).then(() => undefined);
    assert.equal(ticket, undefined);
    await (await limiter.reserve("alice", "d")).succeeded();
    assert.notEqual(await refusal(limiter.reserve("alice", "a")), undefined, "a is still locked");
    const { limiter: l2 } = setup();
    for (let i = 0; i < 2; i++) await l2.reserve("alice", "a");
    await (await l2.reserve("alice", "a")).succeeded();
    for (let i = 0; i < 3; i++) await l2.reserve("alice", "a");
    assert.notEqual(await refusal(l2.reserve("alice", "a")), undefined, "counting starts again after the success");
  });

  test("a success resets the user's total, so the slow-down starts over", async () => {
    const { limiter } = setup({ slowdownAfter: 2, maxFailuresPerUser: 100 });
    await limiter.reserve("alice", "a");
    await (await limiter.reserve("alice", "a")).succeeded();
    await limiter.reserve("alice", "b");
    await limiter.reserve("alice", "c");
    // two since the success: the next is the first over the limit (one 1 s slot), then refused
    await limiter.reserve("alice", "d");
    assert.equal(await refusal(limiter.reserve("alice", "e")), 1);
  });

  test("per address: every attempt counts, success or not, N get through and the N+1st is refused", async () => {
    const { clock, limiter } = setup();
    for (let i = 0; i < 6; i++) await (await limiter.reserve(`user${i}`, "10.0.0.9")).succeeded();
    clock.advance(1000);
    assert.equal(await refusal(limiter.reserve("someone", "10.0.0.9")), 59);
    assert.equal(await refusal(limiter.reserve("someone", "10.0.0.8")), undefined);
  });

  test("an unknown address is one shared address", async () => {
    const { limiter } = setup();
    for (let i = 0; i < 3; i++) await limiter.reserve("alice", undefined);
    assert.notEqual(await refusal(limiter.reserve("alice", undefined)), undefined);
    assert.notEqual(await refusal(limiter.reserve("alice", "unknown")), undefined, "counted as the address 'unknown'");
    assert.equal(await refusal(limiter.reserve("alice", "known")), undefined);
  });

  test("across addresses a username is slowed: 1, 2, 4, 8 s apart, capped at maxDelaySeconds, never locked", async () => {
    const { clock, limiter } = setup({ slowdownAfter: 2, maxFailuresPerUser: 1000, maxAttemptsPerAddress: 1000 });
    await limiter.reserve("alice", "a1");
    await limiter.reserve("alice", "a2");
    const delays: number[] = [];
    for (let i = 3; i <= 8; i++) {
      await limiter.reserve("alice", `a${i}`); // gets through and takes the slot
      const retry = await refusal(limiter.reserve("alice", "x"));
      assert.ok(retry !== undefined);
      delays.push(retry);
      clock.advance(retry * 1000 - 1);
      assert.notEqual(await refusal(limiter.reserve("alice", "x")), undefined, "1 ms early");
      clock.advance(1);
    }
    assert.deepEqual(delays, [1, 2, 4, 8, 8, 8]);
    assert.equal(await refusal(limiter.reserve("bob", "x")), undefined, "another user is not slowed");
  });

  test("an attempt refused by the slow-down gives back what it reserved", async () => {
    const { clock, limiter } = setup({ slowdownAfter: 1, maxFailuresPerUser: 2, maxAttemptsPerAddress: 100 });
    await limiter.reserve("alice", "a"); // total 1, pair 1
    await limiter.reserve("alice", "b"); // total 2: over by 1, takes a 1 s slot
    for (let i = 0; i < 5; i++) assert.equal(await refusal(limiter.reserve("alice", "a")), 1);
    clock.advance(1000);
    // the refused ones did not count: pair a is at 1, total at 2, so this one gets through (2 s slot)
    await limiter.reserve("alice", "a");
    clock.advance(2000);
    assert.notEqual(await refusal(limiter.reserve("alice", "a")), undefined, "now a has 2 failures: locked");
  });

  test("delays double up to 2^30 s before the cap applies", async () => {
    const big = 2 ** 40;
    const { clock, limiter } = setup({ slowdownAfter: 0, maxFailuresPerUser: 1000, maxAttemptsPerAddress: 1000, maxDelaySeconds: big, windowSeconds: 2 ** 42 });
    const delays: number[] = [];
    for (let i = 0; i < 33; i++) {
      await limiter.reserve("alice", "a");
      const retry = (await refusal(limiter.reserve("alice", "a")))!;
      delays.push(retry);
      clock.advance(retry * 1000);
    }
    assert.equal(delays[0], 1);
    assert.equal(delays[30], 2 ** 30);
    assert.equal(delays[31], 2 ** 30, "the exponent stops at 30");
    assert.equal(delays[32], 2 ** 30);
  });

  test("users are counted apart, even from one address", async () => {
    const { limiter } = setup({ slowdownAfter: 2, maxAttemptsPerAddress: 100 });
    for (let i = 0; i < 2; i++) await limiter.reserve("alice", "a");
    // bob's own failures and total start at 0: neither locked (3 per pair) nor slowed (after 2)
    for (let i = 0; i < 2; i++) assert.equal(await refusal(limiter.reserve("bob", "a")), undefined);
    await limiter.reserve("alice", "a"); // alice over: takes her slot
    await limiter.reserve("bob", "a"); // bob over: takes his own slot, not refused for alice's
    assert.equal(await refusal(limiter.reserve("carol", "a")), undefined);
    await limiter.unlock("bob");
    assert.notEqual(await refusal(limiter.reserve("alice", "a")), undefined, "unlocking bob leaves alice locked");
  });

  test("unlock clears the user's counters and slow-down slot", async () => {
    const { limiter } = setup({ slowdownAfter: 3 });
    for (let i = 0; i < 3; i++) await limiter.reserve("alice", "a");
    await limiter.reserve("alice", "b"); // over: takes a slot
    assert.notEqual(await refusal(limiter.reserve("alice", "a")), undefined);
    assert.notEqual(await refusal(limiter.reserve("alice", "c")), undefined, "slowed");
    await limiter.unlock("alice");
    await limiter.reserve("alice", "a");
    await limiter.reserve("alice", "c");
    await limiter.reserve("alice", "d");
    await limiter.reserve("alice", "e"); // total 4 again: over, slot was cleared so it gets through
  });
});

describe("memory counter store", () => {
  const setupStore = (maxKeys?: number) => {
    const clock = manualClock(1_000_000);
    return { clock, store: createMemoryCounterStore(clock, maxKeys) };
  };

  test("add counts within a window and restarts at its end, never below 0", async () => {
    const { clock, store } = setupStore();
    assert.deepEqual(await store.add("k", 1, 10), { count: 1, ttl: 10 });
    clock.advance(2500);
    assert.deepEqual(await store.add("k", 2, 10), { count: 3, ttl: 8 }, "ceil(7.5)");
    assert.deepEqual(await store.add("k", -5, 10), { count: 0, ttl: 8 });
    assert.deepEqual(await store.add("new", -1, 10), { count: 0, ttl: 10 });
    clock.advance(7499);
    assert.deepEqual(await store.add("k", 1, 10), { count: 1, ttl: 1 }, "1 ms left: still this window");
    clock.advance(1);
    assert.deepEqual(await store.add("k", 1, 10), { count: 1, ttl: 10 }, "at the window's end a new one starts");
  });

  test("addField counts per field in the key's window", async () => {
    const { clock, store } = setupStore();
    assert.deepEqual(await store.addField("h", "a", 1, 10), { count: 1, ttl: 10 });
    assert.deepEqual(await store.addField("h", "a", 1, 10), { count: 2, ttl: 10 });
    assert.deepEqual(await store.addField("h", "b", 1, 10), { count: 1, ttl: 10 });
    assert.deepEqual(await store.addField("h", "b", -3, 10), { count: 0, ttl: 10 });
    clock.advance(10_000);
    assert.deepEqual(await store.addField("h", "a", 1, 10), { count: 1, ttl: 10 });
  });

  test("claim: one holder for ms, then free again at exactly its end", async () => {
    const { clock, store } = setupStore();
    assert.deepEqual(await store.claim("s", 1500), { ok: true, retryMs: 0 });
    clock.advance(400);
    assert.deepEqual(await store.claim("s", 1500), { ok: false, retryMs: 1100 });
    clock.advance(1099);
    assert.deepEqual(await store.claim("s", 5000), { ok: false, retryMs: 1 });
    clock.advance(1);
    assert.deepEqual(await store.claim("s", 5000), { ok: true, retryMs: 0 });
    assert.deepEqual(await store.claim("t", 10), { ok: true, retryMs: 0 }, "another key");
  });

  test("del removes a key, or one field of it; a missing key is fine", async () => {
    const { store } = setupStore();
    await store.addField("h", "a", 2, 10);
    await store.addField("h", "b", 2, 10);
    await store.del("h", "a");
    assert.equal((await store.addField("h", "a", 1, 10)).count, 1);
    assert.equal((await store.addField("h", "b", 1, 10)).count, 3);
    await store.del("h");
    assert.equal((await store.addField("h", "b", 1, 10)).count, 1);
    await store.claim("s", 1000);
    await store.del("s");
    assert.equal((await store.claim("s", 1000)).ok, true);
    await store.del("missing", "field");
    await store.del("missing");
  });

  test("holds at most maxKeys windows, dropping the oldest", async () => {
    const { store } = setupStore(2);
    await store.add("a", 5, 10);
    await store.add("b", 5, 10);
    await store.add("c", 5, 10);
    assert.equal((await store.add("a", 1, 10)).count, 1, "a was dropped");
    assert.equal((await store.add("c", 1, 10)).count, 6);
  });
});

describe("redis counter store", () => {
  /** Records the commands sent and answers from `replies`. */
  function fakeRedis(replies: { exec?: [Error | null, unknown][] | null; set?: string | null; pttl?: number } = {}) {
    const calls: unknown[][] = [];
    const chain = {
      incrby: (...a: unknown[]) => (calls.push(["incrby", ...a]), chain),
      hincrby: (...a: unknown[]) => (calls.push(["hincrby", ...a]), chain),
      expire: (...a: unknown[]) => (calls.push(["expire", ...a]), chain),
      ttl: (...a: unknown[]) => (calls.push(["ttl", ...a]), chain),
      exec: async () => ("exec" in replies ? replies.exec : [[null, 4], [null, 1], [null, 37]]),
    };
    const client = {
      multi: () => (calls.push(["multi"]), chain),
      set: async (...a: unknown[]) => (calls.push(["set", ...a]), replies.set ?? null),
      pttl: async (...a: unknown[]) => (calls.push(["pttl", ...a]), replies.pttl ?? -2),
      del: async (...a: unknown[]) => (calls.push(["del", ...a]), 1),
      hdel: async (...a: unknown[]) => (calls.push(["hdel", ...a]), 1),
    };
    return { calls, client: client as unknown as RedisClient };
  }

  test("add and addField: one MULTI, the window set only on the first (NX), count and ttl read back", async () => {
    const r = fakeRedis();
    const store = createRedisCounterStore(r.client);
    assert.deepEqual(await store.add("k", 1, 60), { count: 4, ttl: 37 });
    assert.deepEqual(await store.addField("h", "f", -1, 30), { count: 4, ttl: 37 });
    assert.deepEqual(r.calls, [
      ["multi"], ["incrby", "k", 1], ["expire", "k", 60, "NX"], ["ttl", "k"],
      ["multi"], ["hincrby", "h", "f", -1], ["expire", "h", 30, "NX"], ["ttl", "h"],
    ]);
  });

  test("a missing reply counts 0 with the whole window; a ttl below 1 reads as 1", async () => {
    assert.deepEqual(await createRedisCounterStore(fakeRedis({ exec: null }).client).add("k", 1, 60), { count: 0, ttl: 60 });
    assert.deepEqual(await createRedisCounterStore(fakeRedis({ exec: [] }).client).add("k", 1, 60), { count: 0, ttl: 60 });
    assert.deepEqual(await createRedisCounterStore(fakeRedis({ exec: [[null, "7"]] }).client).addField("h", "f", 1, 60), { count: 7, ttl: 60 });
    assert.deepEqual(await createRedisCounterStore(fakeRedis({ exec: [[null, 2], [null, 0], [null, -1]] }).client).add("k", 1, 60), { count: 2, ttl: 1 });
    assert.deepEqual(await createRedisCounterStore(fakeRedis({ exec: [[null, 2], [null, 0], [null, 0]] }).client).add("k", 1, 60), { count: 2, ttl: 1 });
  });

  test("claim: SET PX NX; when taken, PTTL says when it frees (at least 1 ms)", async () => {
    const free = fakeRedis({ set: "OK" });
    assert.deepEqual(await createRedisCounterStore(free.client).claim("s", 2000), { ok: true, retryMs: 0 });
    assert.deepEqual(free.calls, [["set", "s", "1", "PX", 2000, "NX"]]);
    const taken = fakeRedis({ set: null, pttl: 1234 });
    assert.deepEqual(await createRedisCounterStore(taken.client).claim("s", 2000), { ok: false, retryMs: 1234 });
    assert.deepEqual(taken.calls, [["set", "s", "1", "PX", 2000, "NX"], ["pttl", "s"]]);
    assert.deepEqual(await createRedisCounterStore(fakeRedis({ set: null, pttl: -2 }).client).claim("s", 2000), { ok: false, retryMs: 1 });
  });

  test("del: DEL for a key, HDEL for a field", async () => {
    const r = fakeRedis();
    const store = createRedisCounterStore(r.client);
    await store.del("k");
    await store.del("h", "f");
    assert.deepEqual(r.calls, [["del", "k"], ["hdel", "h", "f"]]);
  });
});

describe("counter store with fallback", () => {
  function failing(): CounterStore & { calls: number } {
    const s = {
      calls: 0,
      fail: async (): Promise<never> => {
        s.calls++;
        throw Object.assign(new Error("down"), { code: "ECONNREFUSED" });
      },
      add: () => s.fail(),
      addField: () => s.fail(),
      claim: () => s.fail(),
      del: () => s.fail(),
    };
    return s;
  }

  test("uses the shared store while it works", async () => {
    const clock = manualClock(0);
    const shared = createMemoryCounterStore(clock);
    const fallback = createMemoryCounterStore(clock);
    const warned: unknown[] = [];
    const store = withFallback(shared, fallback, (c) => warned.push(c), 1000, clock);
    await store.add("k", 3, 10);
    await store.addField("h", "f", 2, 10);
    await store.claim("s", 1000);
    assert.equal((await shared.add("k", 0, 10)).count, 3);
    assert.equal((await shared.addField("h", "f", 0, 10)).count, 2);
    assert.equal((await shared.claim("s", 1000)).ok, false);
    assert.equal((await fallback.add("k", 0, 10)).count, 0);
    assert.deepEqual(warned, []);
  });

  test("falls back when the shared store fails, tells the outage once, leaves it alone for retryAfterMs", async () => {
    const clock = manualClock(0);
    const shared = failing();
    const fallback = createMemoryCounterStore(clock);
    const warned: unknown[] = [];
    const store = withFallback(shared, fallback, (c) => warned.push(c), 1000, clock);
    assert.deepEqual(await store.add("k", 1, 10), { count: 1, ttl: 10 });
    assert.deepEqual(await store.addField("h", "f", 1, 10), { count: 1, ttl: 10 });
    assert.deepEqual(await store.claim("s", 500), { ok: true, retryMs: 0 });
    assert.deepEqual(await store.claim("s", 500), { ok: false, retryMs: 500 });
    assert.equal(shared.calls, 1, "after the first failure the shared store is left alone");
    assert.deepEqual(warned, ["ECONNREFUSED"]);
    clock.advance(1000);
    assert.deepEqual(await store.add("k", 1, 10), { count: 2, ttl: 9 });
    assert.equal(shared.calls, 2, "probed again after retryAfterMs");
    assert.deepEqual(warned, ["ECONNREFUSED"], "told once");
  });

  test("del clears the fallback too, so nothing counted in an outage outlives it", async () => {
    const clock = manualClock(0);
    const shared = createMemoryCounterStore(clock);
    const fallback = createMemoryCounterStore(clock);
    const store = withFallback(shared, fallback, () => {}, 1000, clock);
    await fallback.addField("h", "f", 5, 10);
    await fallback.add("k", 5, 10);
    await shared.addField("h", "f", 5, 10);
    await shared.add("k", 5, 10);
    await store.del("h", "f");
    await store.del("k");
    assert.equal((await fallback.addField("h", "f", 0, 10)).count, 0);
    assert.equal((await fallback.add("k", 0, 10)).count, 0);
    assert.equal((await shared.addField("h", "f", 0, 10)).count, 0);
    assert.equal((await shared.add("k", 0, 10)).count, 0);
    const down = withFallback(failing(), fallback, () => {}, 1000, clock);
    await fallback.add("k", 5, 10);
    await down.del("k"); // the shared store fails: still no throw, and the fallback is cleared
    assert.equal((await fallback.add("k", 0, 10)).count, 0);
  });

  test("the default retry interval is a second", async () => {
    const shared = failing();
    const store = withFallback(shared, createMemoryCounterStore(manualClock(0)), () => {});
    await store.add("k", 1, 10);
    await store.add("k", 1, 10);
    assert.equal(shared.calls, 1);
  });
});
