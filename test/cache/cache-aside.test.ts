// The cache-aside reader of the user store: decode a hit, load a miss once per key
// in flight, write it back with a jittered lifetime or the not-found placeholder.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createCacheAside, type CacheAsideOptions } from "../../src/cache/cache-aside.js";
import type { Cache } from "../../src/cache/cache.js";

/** A map as a cache, recording every call. */
function recordingCache() {
  const entries = new Map<string, string>();
  const calls: string[] = [];
  const cache: Cache = {
    async get(key) {
      calls.push(`get ${key}`);
      return entries.get(key);
    },
    async set(key, value, ttl) {
      calls.push(`set ${key} ${value} ${ttl}`);
      entries.set(key, value);
    },
    async del(...keys) {
      for (const k of keys) entries.delete(k);
    },
    async close() {},
  };
  return { cache, entries, calls };
}

const rows = new Map([["go-zero", { name: "go-zero", count: 100 }]]);
type Row = { name: string; count: number };

function setUp(extra: Partial<CacheAsideOptions<string, Row>> = {}) {
  const { cache, entries, calls } = recordingCache();
  const loads: string[] = [];
  const lookups: string[] = [];
  let release: () => void = () => undefined;
  let gate: Promise<void> | undefined;
  const aside = createCacheAside<string, Row>(cache, {
    key: (name) => `k:${name}`,
    encode: JSON.stringify,
    decode: (text) => {
      try {
        return JSON.parse(text) as Row;
      } catch {
        return undefined;
      }
    },
    load: async (name) => {
      loads.push(name);
      await gate;
      return rows.get(name);
    },
    expiry: 1000,
    notFoundExpiry: 60,
    random: () => 0,
    onLookup: (r) => lookups.push(r),
    ...extra,
  });
  const hold = () => (gate = new Promise((r) => (release = r)));
  return { aside, entries, calls, loads, lookups, hold, release: () => release() };
}

test("a miss is loaded and cached with the jittered expiry; a hit is not loaded again", async () => {
  const t = setUp();
  assert.deepEqual(await t.aside.get("go-zero"), { name: "go-zero", count: 100 });
  assert.deepEqual(await t.aside.get("go-zero"), { name: "go-zero", count: 100 });
  assert.deepEqual(t.loads, ["go-zero"]);
  assert.deepEqual(t.calls, ["get k:go-zero", `set k:go-zero {"name":"go-zero","count":100} 950`, "get k:go-zero"]);
  assert.deepEqual(t.lookups, ["miss", "hit"]);
});

test("an unknown key is remembered by the placeholder for notFoundExpiry (not jittered)", async () => {
  const t = setUp();
  assert.equal(await t.aside.get("nope"), undefined);
  assert.equal(await t.aside.get("nope"), undefined);
  assert.deepEqual(t.loads, ["nope"]);
  assert.equal(t.entries.get("k:nope"), "*");
  assert.ok(t.calls.includes("set k:nope * 60"));
  assert.deepEqual(t.lookups, ["miss", "hit"]);
});

test("without notFoundExpiry absence is not cached, and * is just text to decode", async () => {
  const t = setUp({ notFoundExpiry: undefined });
  assert.equal(await t.aside.get("nope"), undefined);
  assert.equal(await t.aside.get("nope"), undefined);
  assert.deepEqual(t.loads, ["nope", "nope"]);
  assert.equal(t.entries.has("k:nope"), false);
  t.entries.set("k:go-zero", "*"); // not a placeholder here: decodes to nothing, so a miss
  assert.deepEqual(await t.aside.get("go-zero"), { name: "go-zero", count: 100 });
});

test("an entry that does not decode is a miss, loaded and overwritten", async () => {
  const t = setUp();
  t.entries.set("k:go-zero", "{corrupt");
  assert.deepEqual(await t.aside.get("go-zero"), { name: "go-zero", count: 100 });
  assert.equal(t.entries.get("k:go-zero"), `{"name":"go-zero","count":100}`);
  assert.deepEqual(t.lookups, ["miss"]);
});

test("decode may be asynchronous (an index entry naming a row)", async () => {
  const t = setUp({ decode: async (text) => (text === "ref" ? { name: "via-index", count: 1 } : undefined) });
  t.entries.set("k:x", "ref");
  assert.deepEqual(await t.aside.get("x"), { name: "via-index", count: 1 });
  assert.deepEqual(t.loads, []);
});

test("share lookup (default): concurrent lookups of one key make one cache read and one load", async () => {
  const t = setUp();
  t.hold();
  const all = Promise.all(Array.from({ length: 10 }, () => t.aside.get("go-zero")));
  await new Promise((r) => setImmediate(r));
  t.release();
  for (const row of await all) assert.deepEqual(row, { name: "go-zero", count: 100 });
  assert.deepEqual(t.loads, ["go-zero"]);
  assert.equal(t.calls.filter((c) => c.startsWith("get")).length, 1);
  assert.deepEqual(t.lookups, ["miss"]);
  // warm and concurrent: still one read, told once
  await Promise.all(Array.from({ length: 10 }, () => t.aside.get("go-zero")));
  assert.equal(t.calls.filter((c) => c.startsWith("get")).length, 2);
  assert.deepEqual(t.lookups, ["miss", "hit"]);
});


test("set caches a value with the jittered expiry", async () => {
  const t = setUp();
  await t.aside.set("a", { name: "a", count: 2 });
  assert.deepEqual(t.calls, [`set k:a {"name":"a","count":2} 950`]);
  assert.deepEqual(await t.aside.get("a"), { name: "a", count: 2 });
  assert.deepEqual(t.loads, []);
});

