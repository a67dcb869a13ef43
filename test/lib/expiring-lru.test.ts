import assert from "node:assert/strict";
import { test } from "node:test";
import { createExpiringLru } from "../../src/lib/expiring-lru.js";

const clockAt = (ms: number) => {
  const clock = { ms, now: () => clock.ms };
  return clock;
};

test("a value is held until its own expiry, then dropped", () => {
  const clock = clockAt(1_000);
  const lru = createExpiringLru<string, number | null>({ maxEntries: 10, clock });
  lru.set("a", 1, 500);
  lru.set("none", null, 100);
  assert.equal(lru.get("none"), null, "a stored null is a value (the catalog's unknown book)");
  clock.ms = 1_099;
  assert.equal(lru.get("a"), 1);
  clock.ms = 1_100;
  assert.equal(lru.get("none"), undefined, "expired at its expiry");
  clock.ms = 1_500;
  assert.equal(lru.get("a"), undefined);
  lru.set("b", 2, 60_000);
  lru.delete("b");
  assert.equal(lru.get("b"), undefined);
  lru.set("c", 3, 60_000);
  lru.clear();
  assert.equal(lru.get("c"), undefined);
});

test("the least recently used goes first: an entry read all along outlives any number of newer ones", () => {
  for (const maxEntries of [1, 2, 3, 10, 101]) {
    const lru = createExpiringLru<string, string>({ maxEntries, clock: clockAt(0) });
    lru.set("hot", "h", 60_000);
    lru.set("cold", "c", 60_000);
    for (let i = 0; i < maxEntries * 5; i++) {
      if (maxEntries > 1) assert.equal(lru.get("hot"), "h", `cap ${maxEntries}: held at write ${i}`);
      lru.set(`new-${i}`, "n", 60_000);
    }
    assert.equal(lru.get("cold"), undefined, `cap ${maxEntries}: the entry never read was dropped`);
    assert.equal(lru.get(`new-${maxEntries * 5 - 1}`), "n", "the newest is held");
  }
  assert.equal(createExpiringLru<string, string>({ maxEntries: 0, clock: clockAt(0) }).get("x"), undefined);
});
