import { randomBytes } from "node:crypto";
import { mkdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Clock } from "../clock.js";
import { createExpiringLru } from "../lib/expiring-lru.js";
import type { Cache } from "./cache.js";

/**
 * A file whose identity changes on every bump: the invalidation signal between processes that
 * share the embedded database but not memory (the server and the `bookstore user ...` CLI).
 */
export interface EpochFile {
  /** True when the file changed since the last call. */
  changed(): boolean;
  bump(): void;
}

/** Creates an {@link EpochFile} at `path`; a missing file is an epoch of its own. */
export function createEpochFile(path: string): EpochFile {
  const read = () => {
    try {
      const s = statSync(path, { bigint: true });
      return `${s.ino}:${s.mtimeNs}:${s.size}`;
    } catch {
      return "none";
    }
  };
  let seen = read();
  return {
    changed() {
      const now = read();
      if (now === seen) return false;
      seen = now;
      return true;
    },
    bump() {
      mkdirSync(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}`;
      writeFileSync(tmp, randomBytes(8).toString("hex"));
      renameSync(tmp, path); // a new inode each time
    },
  };
}

/**
 * A bounded in-process LRU cache with lifetimes, for the embedded default. When `epoch` is
 * given, `del` bumps it and every read first drops everything if another process bumped it,
 * so a CLI write takes effect in a running server at once.
 */
export function createMemoryCache(options: { maxEntries: number; clock: Clock; epoch?: EpochFile }): Cache {
  const { epoch } = options;
  const entries = createExpiringLru<string, string>(options);
  const sync = () => {
    if (epoch?.changed()) entries.clear();
  };
  return {
    async get(key) {
      sync();
      return entries.get(key);
    },
    async set(key, value, ttlSeconds) {
      sync();
      entries.set(key, value, ttlSeconds * 1000);
    },
    async del(...keys) {
      for (const k of keys) entries.delete(k);
      epoch?.bump();
      epoch?.changed(); // our own bump is not news
    },
    async close() {
      entries.clear();
    },
  };
}
