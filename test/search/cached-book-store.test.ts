import assert from "node:assert/strict";
import { after, test } from "node:test";
import { openStorage } from "../../src/service-context.js";
import { searchBook } from "../../src/search/search-book.js";
import {
  dropKeys,
  memoryLogger,
  needs,
  resetDatabase,
  tempDir,
  testConfig,
  testDataSources,
  testKeyPrefix,
  testRedisUrl,
} from "../harness.js";

const dir = tempDir();
after(() => dir.remove());
const redisUrl = testRedisUrl();

for (const { dialect, dataSource } of testDataSources(dir.path)) {
  for (const redis of [undefined, redisUrl ?? ""]) {
    const skip = needs(...(dialect === "mysql" ? (["mysql"] as const) : []), ...(redis !== undefined ? (["redis"] as const) : []));
    test(`a warm Do makes no database query (${dialect}, ${redis !== undefined ? "Redis" : "in-process"} cache); unknown books are remembered too`, { skip }, async () => {
      await resetDatabase(dataSource);
      const prefix = testKeyPrefix();
      const config = testConfig(dir.path, { dataSource, redisUrl: redis ?? "", keyPrefix: prefix });
      const queries: string[] = [];
      const storage = await openStorage(config, { logger: memoryLogger().logger, onQuery: (q) => queries.push(q) });
      try {
        queries.length = 0;
        // 20 concurrent cold lookups share one load (single flight)
        const cold = await Promise.all(Array.from({ length: 20 }, () => searchBook(storage, "go-zero")));
        for (const book of cold) assert.deepEqual(book, { name: "go-zero", count: 100 });
        assert.deepEqual(await searchBook(storage, "no such book"), { name: "no such book", count: 0 });
        assert.equal(queries.length, 2, "cold: one query per name");
        const warm = await Promise.all(Array.from({ length: 20 }, () => searchBook(storage, "go-zero")));
        for (const book of warm) assert.deepEqual(book, { name: "go-zero", count: 100 });
        assert.deepEqual(await searchBook(storage, "no such book"), { name: "no such book", count: 0 });
        assert.equal(queries.length, 2, "warm: none");
        // a warm name is answered in the same tick, with no promise (the catalog is cached in the process)
        const now = searchBook(storage, "go-zero");
        assert.ok(!(now instanceof Promise), "a warm lookup answers at once");
        assert.deepEqual(now, { name: "go-zero", count: 100 });
        // the cached record itself, frozen: the same object for every warm lookup (Do's answer is made from it once)
        assert.equal(searchBook(storage, "go-zero"), now);
        assert.ok(Object.isFrozen(now));
        const metrics = await storage.metrics.render();
        assert.match(metrics, /book_cache_lookups_total\{result="miss"\} 2\n/);
        assert.match(metrics, /book_cache_lookups_total\{result="hit"\} 23\n/);
      } finally {
        await storage.close();
        if (redis) await dropKeys(redis, prefix);
      }
    });
  }
}
