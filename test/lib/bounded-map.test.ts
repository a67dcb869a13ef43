import assert from "node:assert/strict";
import { test } from "node:test";
import { createBoundedMap } from "../../src/lib/bounded-map.js";

test("holds at most maxEntries, dropping the oldest first", () => {
  const map = createBoundedMap<string, number>(3);
  for (const [i, k] of ["a", "b", "c", "d", "e"].entries()) map.set(k, i);
  assert.equal(map.size, 3);
  assert.deepEqual(["a", "b", "c", "d", "e"].map((k) => map.get(k)), [undefined, undefined, 2, 3, 4]);
});

test("setting a key again makes it the newest; reading does not", () => {
  const map = createBoundedMap<string, number>(2);
  map.set("a", 1);
  map.set("b", 2);
  assert.equal(map.get("a"), 1); // a read: a stays the oldest
  map.set("c", 3);
  assert.equal(map.get("a"), undefined);
  map.set("b", 20); // b becomes the newest
  map.set("d", 4); // so c goes
  assert.deepEqual([map.get("b"), map.get("c"), map.get("d")], [20, undefined, 4]);
});

test("delete, clear, and a cap of 0 holding nothing", () => {
  const map = createBoundedMap<number, string>(2);
  map.set(1, "x");
  assert.equal(map.delete(1), true);
  assert.equal(map.delete(1), false);
  map.set(2, "y");
  map.clear();
  assert.equal(map.size, 0);
  const none = createBoundedMap<number, string>(0);
  none.set(1, "x");
  assert.equal(none.size, 0);
  assert.equal(none.get(1), undefined);
});
