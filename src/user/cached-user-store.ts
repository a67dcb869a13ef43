import { jitter, type Cache } from "../cache/cache.js";
import { createSingleFlight } from "../cache/single-flight.js";
import { AppError } from "../errors.js";
import type { UserRecord, UserStore } from "./user-store.js";

/** The placeholder cached for a username that has no user. */
const notFound = "*";

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
  const flight = createSingleFlight();
  const ttl = () => jitter(options.expiry, options.random);

  const cacheRow = async (row: UserRecord) => {
    await cache.set(idKey(row.id), JSON.stringify(row), ttl());
    await cache.set(usernameKey(row.username), String(row.id), ttl());
  };

  const findById = (id: number) =>
    flight(idKey(id), async () => {
      const cached = parseRow(await cache.get(idKey(id)));
      if (cached !== undefined && cached.id === id) return cached;
      const row = await store.findById(id);
      if (row !== undefined) await cache.set(idKey(id), JSON.stringify(row), ttl());
      return row;
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
        `the change is stored, but the cache could not be cleared: cached entries expire within ${options.expiry} s`,
        { cause: err },
      );
    }
    return result;
  };

  return {
    findByUsername: (username) =>
      flight(usernameKey(username), async () => {
        const cached = await cache.get(usernameKey(username));
        if (cached === notFound) {
          options.onLookup?.("hit");
          return undefined;
        }
        if (cached !== undefined && /^\d+$/.test(cached)) {
          const row = await findById(Number(cached));
          if (row !== undefined && row.username === username) {
            options.onLookup?.("hit");
            return row;
          }
        }
        options.onLookup?.("miss");
        const row = await store.findByUsername(username);
        if (row === undefined) {
          await cache.set(usernameKey(username), notFound, options.notFoundExpiry);
          return undefined;
        }
        await cacheRow(row);
        return row;
      }),
    findById,
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
  };
}

function parseRow(text: string | undefined): UserRecord | undefined {
  if (text === undefined) return undefined;
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
