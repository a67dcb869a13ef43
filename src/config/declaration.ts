import { auth } from "./auth.js";
import { cacheRedis } from "./cache-redis.js";
import { cache } from "./cache.js";
import { database } from "./database.js";
import { cors, tls, trustedProxies } from "./edge.js";
import type { ConfigOf } from "./fields.js";
import { limits } from "./limits.js";
import { log } from "./log.js";
import { loginLimits } from "./login-limits.js";
import { dataDir, host, name, search, user, workers } from "./service.js";

/**
 * Every setting, declared once, under its camelCase key in {@link Config} (this order is the
 * order of the README table and the JSON Schema). Each field names its YAML key, environment
 * variable, default, bounds and meaning; the type, defaults, environment list, usage text and
 * JSON Schema are derived from it.
 */
export const declaration = {
  name,
  host,
  workers,
  user,
  search,
  auth,
  dataDir,
  database,
  cacheRedis,
  cache,
  log,
  loginLimits,
  trustedProxies,
  cors,
  tls,
  limits,
};

/**
 * The whole configuration, as frozen plain data. Keys in YAML use go-zero's names
 * (`Auth.AccessSecret`, `Auth.AccessExpire`, ...); see `etc/bookstore.yaml` and the README table.
 */
export type Config = ConfigOf<typeof declaration>;
