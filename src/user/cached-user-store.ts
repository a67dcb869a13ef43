import { createCacheAside } from "../cache/cache-aside.js";
import type { Cache } from "../cache/cache.js";
import { AppError } from "../errors.js";
import type { UserRecord, UserStore } from "./user-store.js";

/** `cache:user:username:<name>` holds the id (or the not-found placeholder). */
export const usernameKey = (username: string) => `cache:user:username:${username}`;
/** `cache:user:id:<id>` holds the row. */
export const idKey = (id: number) => `cache:user:id:${id}`;

/**
 * go-zero's cached model over a {@link UserStore}: cache-aside by key (username -> id -> row),
 * a short-lived placeholder for unknown usernames, lifetimes with about 5% jitter, one load
 * per key in flight per process, and delete-before-and-after on every write so a changed
 * password or a deleted user takes effect at once. The cached row never outlives the stored one.
 */
export function createCachedUserStore(
  store: UserStore,
  cache: Cache,
  options: { expiry: number; notFoundExpiry: number; random?: () => number; onLookup?: (result: "hit" | "miss") => void },
): UserStore {
  const { expiry, random } = options;
  // rows by id: an unknown id is not remembered
  const byId = createCacheAside<number, UserRecord>(cache, {
    key: idKey,
    encode: JSON.stringify,
    decode: (text, id) => {
      const row = parseRow(text);
      return row?.id === id ? row : undefined;
    },
    load: (id) => store.findById(id),
    expiry,
    random,
  });
  // the username index (go-zero's QueryRowIndex): it holds the id, and loading it caches the row too
  const byUsername = createCacheAside<string, UserRecord>(cache, {
    key: usernameKey,
    encode: (row) => String(row.id),
    decode: async (text, username) => {
      if (!/^\d+$/.test(text)) return undefined;
      const row = await byId.get(Number(text));
      return row?.username === username ? row : undefined;
    },
    load: async (username) => {
      const row = await store.findByUsername(username);
      if (row !== undefined) await byId.set(row.id, row);
      return row;
    },
    expiry,
    notFoundExpiry: options.notFoundExpiry,
    random,
    onLookup: options.onLookup,
  });

  /** Runs a write between two invalidations of `keys`; nothing changes if the first fails. */
  const invalidating = async <T>(keys: string[], write: () => Promise<T>): Promise<T> => {
    try {
      await cache.del(...keys);
    } catch (err) {
      throw new AppError("unavailable", "the cache cannot be reached, so nothing was changed", { cause: err });
    }
    const result = await write();
    try {
      await cache.del(...keys);
    } catch (err) {
      throw new AppError(
        "unavailable",
        `the change is stored, but the cache could not be cleared: cached entries expire within ${expiry} s`,
        { cause: err },
      );
    }
    return result;
  };

  return {
    findByUsername: byUsername.get,
    findById: byId.get,
    insert: (user) => invalidating([usernameKey(user.username)], () => store.insert(user)),
    async updatePassword(username, passwordHash) {
      const row = await store.findByUsername(username);
      if (row === undefined) throw new AppError("not_found", `no user ${username}`);
      return invalidating([usernameKey(username), idKey(row.id)], () => store.updatePassword(username, passwordHash));
    },
    async delete(username) {
      const row = await store.findByUsername(username);
      if (row === undefined) throw new AppError("not_found", `no user ${username}`);
      return invalidating([usernameKey(username), idKey(row.id)], () => store.delete(username));
    },
    async rehashPassword(id, oldHash, newHash) {
      const done = await store.rehashPassword(id, oldHash, newHash);
      // a cached row with the old hash still verifies the same password, so a failed clear is harmless
      if (done) await cache.del(idKey(id)).catch(() => undefined);
      return done;
    },
    // an operator's listing: always the database, never the cache
    list: () => store.list(),
  };
}

function parseRow(text: string): UserRecord | undefined {
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    if (
      typeof v.id === "number" &&
      typeof v.username === "string" &&
      typeof v.passwordHash === "string" &&
      typeof v.name === "string" &&
      typeof v.gender === "string" &&
      Array.isArray(v.roles) &&
      v.roles.every((r) => typeof r === "string")
    ) {
      return { id: v.id, username: v.username, passwordHash: v.passwordHash, name: v.name, gender: v.gender, roles: v.roles as string[] };
    }
  } catch {
    // a corrupt entry is a miss
  }
  return undefined;
}
