// The embedded cache's cross-process invalidation through its epoch file, with two caches on
// one file as the server and the `bookstore user ...` CLI have: another process's delete
// empties this one at its next read; a process's own delete is not news to itself.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, test } from "node:test";
import { createEpochFile, createMemoryCache } from "../../src/cache/memory-cache.js";
import { systemClock } from "../../src/clock.js";
import { tempDir } from "../harness.js";

const dir = tempDir();
after(() => dir.remove());

test("a delete in another process empties this cache at its next read", async () => {
  const path = join(dir.path, "epoch-a");
  const server = createMemoryCache({ maxEntries: 10, clock: systemClock, epoch: createEpochFile(path) });
  const cli = createMemoryCache({ maxEntries: 10, clock: systemClock, epoch: createEpochFile(path) });
  await server.set("user:1", "old", 60);
  await server.set("user:2", "kept?", 60);
  assert.equal(await server.get("user:1"), "old");
  await cli.del("user:1");
  assert.equal(await server.get("user:1"), undefined, "the other process's delete is seen");
  assert.equal(await server.get("user:2"), undefined, "everything is dropped, not only the key");
});

test("a process's own delete drops only that key", async () => {
  const server = createMemoryCache({ maxEntries: 10, clock: systemClock, epoch: createEpochFile(join(dir.path, "epoch-b")) });
  await server.set("a", "1", 60);
  await server.set("b", "2", 60);
  await server.del("a");
  assert.equal(await server.get("a"), undefined);
  assert.equal(await server.get("b"), "2");
});

test("an entry read all along outlives any number of newer ones; one never read is dropped in turn", async () => {
  for (const maxEntries of [2, 3, 10, 101]) {
    const cache = createMemoryCache({ maxEntries, clock: systemClock });
    await cache.set("hot", "h", 60);
    await cache.set("cold", "c", 60);
    for (let i = 0; i < maxEntries * 5; i++) {
      assert.equal(await cache.get("hot"), "h", `cap ${maxEntries}: the entry read before each write is held at write ${i}`);
      await cache.set(`new-${i}`, "n", 60);
    }
    assert.equal(await cache.get("cold"), undefined, `cap ${maxEntries}: the entry never read was dropped`);
  }
});
