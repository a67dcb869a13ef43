import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { parse as parseYaml } from "yaml";
import { defaultServerLimits, type ServerLimits } from "./server-limits.js";

/**
 * The whole configuration, as frozen plain data. Keys in YAML use go-zero's names
 * (`Auth.AccessSecret`, `Auth.AccessExpire`, ...); see `etc/bookstore.yaml`.
 */
export interface Config {
  readonly name: string;
  readonly host: string;
  /** Worker processes on the same ports (node:cluster); 0: one per core with Redis, else one. */
  readonly workers: number;
  readonly user: { readonly port: number };
  readonly search: { readonly port: number };
  readonly auth: {
    /** Empty means: generate one and keep it in `dataDir` (embedded default only). */
    readonly accessSecret: string;
    /** Access token lifetime in seconds. */
    readonly accessExpire: number;
    /** Verified tokens remembered (by exact string, until their exp) to skip re-verification; 0 disables. */
    readonly verifiedTokenCache: number;
    /** The secret before the last rotation: verifies, never signs (go-zero's PrevAccessSecret). */
    readonly prevAccessSecret: string;
    /** `iss` set and required; empty: tokens carrying one are refused. */
    readonly issuer: string;
    /** `aud` set and required; empty: tokens carrying one are refused. */
    readonly audience: string;
    /** Leeway for exp/nbf/iat in seconds, 0 to 60. */
    readonly clockTolerance: number;
    /** While revocations have never been loaded (database unreachable since start): false answers `unavailable`, true skips the check. */
    readonly revocationFailOpen: boolean;
    /** Live revocations held in memory at most; past it, a logout ends every session of the user. */
    readonly maxRevocations: number;
    /** What new tokens are signed with: HS256 (the shared secret) or RS256/ES256/EdDSA (a key pair). */
    readonly algorithm: "HS256" | "RS256" | "ES256" | "EdDSA";
    /** PEM private key that signs (RS256/ES256/EdDSA), as a file... */
    readonly signingKeyFile: string;
    /** ...or as text (e.g. from the environment). */
    readonly signingKey: string;
    /** PEM public keys of earlier signing keys: they verify (and are published) until removed. */
    readonly verifyKeyFiles: readonly string[];
    /** Verify with the keys published at this JWKS URL (no local key needed to verify). */
    readonly jwksUrl: string;
    /** Least seconds between JWKS refetches caused by unknown kids or failures. */
    readonly jwksCooldown: number;
    /** Seconds after which fetched keys are refreshed in the background. */
    readonly jwksMaxAge: number;
    /** Refresh token lifetime in seconds. */
    readonly refreshExpire: number;
  };
  readonly dataDir: string;
  readonly database: {
    /** `sqlite:PATH`, `sqlite::memory:` or `mysql://user:pass@host:port/db`. */
    readonly dataSource: string;
    /** Run pending migrations when the server starts. */
    readonly autoMigrate: boolean;
    /** MySQL connection pool size. */
    readonly poolSize: number;
    /** Time to open a MySQL connection, in milliseconds. */
    readonly connectTimeoutMs: number;
    /** Time a lookup may take before the call fails with `unavailable`, in milliseconds. */
    readonly queryTimeoutMs: number;
  };
  readonly cacheRedis: {
    /** `node` (one server), `sentinel` (Url and Nodes are sentinels) or `cluster` (seed nodes). */
    readonly type: "node" | "sentinel" | "cluster";
    /** Empty: an in-process cache (single instance only). */
    readonly url: string;
    /** More sentinels or cluster seed nodes, as host:port. */
    readonly nodes: readonly string[];
    /** The name of the primary the sentinels watch. */
    readonly sentinelName: string;
    /** Prefix of every key, for a Redis shared with other applications. */
    readonly keyPrefix: string;
    readonly connectTimeoutMs: number;
    /** A Redis command slower than this counts as a cache miss. */
    readonly commandTimeoutMs: number;
  };
  readonly cache: {
    /** Lifetime of a cached user, in seconds (jittered by about 5%). */
    readonly expiry: number;
    /** Lifetime of a "no such user" placeholder, in seconds. */
    readonly notFoundExpiry: number;
    /** Entries the in-process cache holds at most. */
    readonly maxEntries: number;
  };
  readonly log: { readonly level: string };
  /** Brute-force limits on Login, counted in Redis when set, else in-process. */
  readonly loginLimits: {
    readonly maxFailuresPerUser: number;
    readonly maxAttemptsPerAddress: number;
    readonly slowdownAfter: number;
    readonly maxDelaySeconds: number;
    readonly windowSeconds: number;
  };
  /** Proxies (addresses or CIDR ranges) whose X-Forwarded-For names the client; empty: none. */
  readonly trustedProxies: readonly string[];
  /** Browser origins allowed to call the services (CORS); empty: none. */
  readonly cors: { readonly allowedOrigins: readonly string[] };
  /** TLS: with both set, every port speaks HTTPS, negotiating HTTP/2 or HTTP/1.1 by ALPN. */
  readonly tls: { readonly certFile: string; readonly keyFile: string };
  readonly limits: {
    /** Largest request message accepted, in bytes. */
    readonly readMaxBytes: number;
    /** Bytes of request bodies held while they arrive, on one port in all; past it, `resource_exhausted`. */
    readonly maxPendingBodyBytes: number;
    /** The same on one connection (an HTTP/2 connection carries many streams). */
    readonly maxPendingBodyBytesPerConnection: number;
  } & ServerLimits;
}

/** A configuration problem, reported as one line naming the key; never a secret's value. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** The embedded default: SQLite under `data/`, an in-process cache, a generated secret. */
export const defaultConfig: Config = deepFreeze({
  name: "bookstore",
  host: "127.0.0.1",
  workers: 0,
  user: { port: 8888 },
  search: { port: 8889 },
  auth: {
    accessSecret: "",
    accessExpire: 86400,
    verifiedTokenCache: 10_000,
    prevAccessSecret: "",
    issuer: "",
    audience: "",
    clockTolerance: 30,
    revocationFailOpen: false,
    maxRevocations: 1_000_000,
    algorithm: "HS256",
    signingKeyFile: "",
    signingKey: "",
    verifyKeyFiles: [],
    jwksUrl: "",
    jwksCooldown: 30,
    jwksMaxAge: 300,
    refreshExpire: 30 * 24 * 3600,
  },
  dataDir: "data",
  database: {
    dataSource: "sqlite:data/bookstore.db",
    autoMigrate: true,
    poolSize: 10,
    connectTimeoutMs: 2000,
    queryTimeoutMs: 2000,
  },
  cacheRedis: { type: "node", url: "", nodes: [], sentinelName: "", keyPrefix: "bookstore:", connectTimeoutMs: 1000, commandTimeoutMs: 500 },
  cache: { expiry: 3600, notFoundExpiry: 60, maxEntries: 10_000 },
  log: { level: "info" },
  loginLimits: { maxFailuresPerUser: 5, maxAttemptsPerAddress: 100, slowdownAfter: 10, maxDelaySeconds: 60, windowSeconds: 900 },
  trustedProxies: [],
  cors: { allowedOrigins: [] },
  tls: { certFile: "", keyFile: "" },
  limits: { readMaxBytes: 64 * 1024, maxPendingBodyBytes: 64 * 1024 * 1024, maxPendingBodyBytesPerConnection: 1024 * 1024, ...defaultServerLimits },
});

const maxAccessExpire = 366 * 24 * 3600;
const logLevels = new Set(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

/** The YAML shape: section -> key -> how to read it into {@link Config}. */
const schema = {
  Name: ["name", "string"],
  Host: ["host", "string"],
  Workers: ["workers", "workers"],
  User: { Port: ["user.port", "port"] },
  Search: { Port: ["search.port", "port"] },
  Auth: {
    AccessSecret: ["auth.accessSecret", "string"],
    AccessExpire: ["auth.accessExpire", "expire"],
    VerifiedTokenCache: ["auth.verifiedTokenCache", "cacheSize"],
    PrevAccessSecret: ["auth.prevAccessSecret", "string"],
    Issuer: ["auth.issuer", "string"],
    Audience: ["auth.audience", "string"],
    ClockTolerance: ["auth.clockTolerance", "tolerance"],
    RevocationFailOpen: ["auth.revocationFailOpen", "boolean"],
    MaxRevocations: ["auth.maxRevocations", "entries"],
    Algorithm: ["auth.algorithm", "algorithm"],
    SigningKeyFile: ["auth.signingKeyFile", "string"],
    SigningKey: ["auth.signingKey", "string"],
    VerifyKeyFiles: ["auth.verifyKeyFiles", "paths"],
    JwksUrl: ["auth.jwksUrl", "httpUrl"],
    JwksCooldown: ["auth.jwksCooldown", "seconds"],
    JwksMaxAge: ["auth.jwksMaxAge", "seconds"],
    RefreshExpire: ["auth.refreshExpire", "expire"],
  },
  DataDir: ["dataDir", "string"],
  Database: {
    DataSource: ["database.dataSource", "dataSource"],
    AutoMigrate: ["database.autoMigrate", "boolean"],
    PoolSize: ["database.poolSize", "poolSize"],
    ConnectTimeout: ["database.connectTimeoutMs", "millis"],
    QueryTimeout: ["database.queryTimeoutMs", "millis"],
  },
  CacheRedis: {
    Type: ["cacheRedis.type", "redisType"],
    Url: ["cacheRedis.url", "redisUrl"],
    Nodes: ["cacheRedis.nodes", "paths"],
    SentinelName: ["cacheRedis.sentinelName", "string"],
    KeyPrefix: ["cacheRedis.keyPrefix", "string"],
    ConnectTimeout: ["cacheRedis.connectTimeoutMs", "millis"],
    CommandTimeout: ["cacheRedis.commandTimeoutMs", "millis"],
  },
  Cache: {
    Expiry: ["cache.expiry", "seconds"],
    NotFoundExpiry: ["cache.notFoundExpiry", "seconds"],
    MaxEntries: ["cache.maxEntries", "entries"],
  },
  Log: { Level: ["log.level", "logLevel"] },
  LoginLimits: {
    MaxFailuresPerUser: ["loginLimits.maxFailuresPerUser", "limit"],
    MaxAttemptsPerAddress: ["loginLimits.maxAttemptsPerAddress", "limit"],
    SlowdownAfter: ["loginLimits.slowdownAfter", "limit"],
    MaxDelay: ["loginLimits.maxDelaySeconds", "seconds"],
    Window: ["loginLimits.windowSeconds", "seconds"],
  },
  TrustedProxies: ["trustedProxies", "cidrs"],
  Cors: { AllowedOrigins: ["cors.allowedOrigins", "origins"] },
  CertFile: ["tls.certFile", "string"],
  KeyFile: ["tls.keyFile", "string"],
  Limits: {
    ReadMaxBytes: ["limits.readMaxBytes", "size"],
    MaxHeaderBytes: ["limits.maxHeaderBytes", "headerSize"],
    HeadersTimeout: ["limits.headersTimeoutMs", "millis"],
    RequestTimeout: ["limits.requestTimeoutMs", "millis"],
    IdleTimeout: ["limits.idleTimeoutMs", "millis"],
    MaxConcurrentStreams: ["limits.maxConcurrentStreams", "streams"],
    MaxConnections: ["limits.maxConnections", "connections"],
    MaxConnectionsPerAddress: ["limits.maxConnectionsPerAddress", "connections"],
    MaxPendingBodyBytes: ["limits.maxPendingBodyBytes", "memory"],
    MaxPendingBodyBytesPerConnection: ["limits.maxPendingBodyBytesPerConnection", "memory"],
  },
} as const;

type Kind =
  | "string"
  | "port"
  | "expire"
  | "dataSource"
  | "boolean"
  | "redisUrl"
  | "logLevel"
  | "size"
  | "memory"
  | "poolSize"
  | "millis"
  | "seconds"
  | "entries"
  | "headerSize"
  | "streams"
  | "connections"
  | "origins"
  | "cacheSize"
  | "tolerance"
  | "limit"
  | "algorithm"
  | "paths"
  | "httpUrl"
  | "workers"
  | "redisType"
  | "cidrs";
type Leaf = readonly [string, Kind];
type Node = { readonly [key: string]: Leaf | Node };

/** Environment variables that override the file, and the key each one sets. */
export const envOverrides: Readonly<Record<string, { key: string; yamlKey: string; kind: Kind }>> = {
  ACCESS_SECRET: { key: "auth.accessSecret", yamlKey: "Auth.AccessSecret", kind: "string" },
  ACCESS_EXPIRE: { key: "auth.accessExpire", yamlKey: "Auth.AccessExpire", kind: "expire" },
  PREV_ACCESS_SECRET: { key: "auth.prevAccessSecret", yamlKey: "Auth.PrevAccessSecret", kind: "string" },
  SIGNING_ALGORITHM: { key: "auth.algorithm", yamlKey: "Auth.Algorithm", kind: "algorithm" },
  SIGNING_KEY_FILE: { key: "auth.signingKeyFile", yamlKey: "Auth.SigningKeyFile", kind: "string" },
  SIGNING_KEY: { key: "auth.signingKey", yamlKey: "Auth.SigningKey", kind: "string" },
  VERIFY_KEY_FILES: { key: "auth.verifyKeyFiles", yamlKey: "Auth.VerifyKeyFiles", kind: "paths" },
  JWKS_URL: { key: "auth.jwksUrl", yamlKey: "Auth.JwksUrl", kind: "httpUrl" },
  REFRESH_EXPIRE: { key: "auth.refreshExpire", yamlKey: "Auth.RefreshExpire", kind: "expire" },
  DATABASE_URL: { key: "database.dataSource", yamlKey: "Database.DataSource", kind: "dataSource" },
  REDIS_URL: { key: "cacheRedis.url", yamlKey: "CacheRedis.Url", kind: "redisUrl" },
  REDIS_TYPE: { key: "cacheRedis.type", yamlKey: "CacheRedis.Type", kind: "redisType" },
  REDIS_NODES: { key: "cacheRedis.nodes", yamlKey: "CacheRedis.Nodes", kind: "paths" },
  REDIS_SENTINEL_NAME: { key: "cacheRedis.sentinelName", yamlKey: "CacheRedis.SentinelName", kind: "string" },
  HOST: { key: "host", yamlKey: "Host", kind: "string" },
  WORKERS: { key: "workers", yamlKey: "Workers", kind: "workers" },
  USER_PORT: { key: "user.port", yamlKey: "User.Port", kind: "port" },
  SEARCH_PORT: { key: "search.port", yamlKey: "Search.Port", kind: "port" },
  CORS_ALLOWED_ORIGINS: { key: "cors.allowedOrigins", yamlKey: "Cors.AllowedOrigins", kind: "origins" },
  TRUSTED_PROXIES: { key: "trustedProxies", yamlKey: "TrustedProxies", kind: "cidrs" },
};

/**
 * Loads the configuration: the defaults, then the YAML file when given (with `${VAR}` and
 * `${VAR:-fallback}` expanded in its string values), then the environment overrides.
 * Throws {@link ConfigError} on an unknown key or a value out of range.
 *
 * @example
 * const config = loadConfig({ file: "etc/bookstore.yaml", env: process.env });
 */
export function loadConfig(options: { file?: string; env?: NodeJS.ProcessEnv } = {}): Config {
  const env = options.env ?? {};
  const config = structuredClone(defaultConfig) as unknown as Record<string, unknown>;
  if (options.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.file, "utf8");
    } catch (err) {
      throw new ConfigError(`cannot read config file ${options.file}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
    }
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch (err) {
      throw new ConfigError(`config file ${options.file} is not valid YAML: ${(err as Error).message.split("\n")[0]}`);
    }
    if (doc !== null && doc !== undefined) applyYaml(config, schema, doc, "", env);
  }
  for (const [name, { key, kind }] of Object.entries(envOverrides)) {
    const raw = env[name];
    if (raw === undefined || raw === "") continue;
    setPath(config, key, readValue(kind, raw, name));
  }
  checkLimits((config as unknown as Config).limits);
  return deepFreeze(config as unknown as Config);
}

/** A largest message must fit the body bounds, or it could never be received. */
function checkLimits(limits: Config["limits"]): void {
  // a gRPC message arrives in a 5-byte envelope
  if (limits.maxPendingBodyBytesPerConnection < limits.readMaxBytes + 5) {
    throw new ConfigError("config: Limits.MaxPendingBodyBytesPerConnection must be larger than Limits.ReadMaxBytes");
  }
  if (limits.maxPendingBodyBytes < limits.maxPendingBodyBytesPerConnection) {
    throw new ConfigError("config: Limits.MaxPendingBodyBytes must be at least Limits.MaxPendingBodyBytesPerConnection");
  }
}

function applyYaml(target: Record<string, unknown>, node: Node, value: unknown, where: string, env: NodeJS.ProcessEnv): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(`config: ${where || "the document"} must be a mapping`);
  }
  for (const [k, v] of Object.entries(value)) {
    const name = where ? `${where}.${k}` : k;
    const spec = Object.hasOwn(node, k) ? node[k] : undefined;
    if (spec === undefined) throw new ConfigError(`config: unknown key ${name}`);
    if (isLeaf(spec)) {
      if (v === null || v === undefined) continue;
      const expanded = typeof v === "string" ? expandVars(v, name, env) : v;
      setPath(target, spec[0], readValue(spec[1], expanded, name));
    } else {
      if (v === null || v === undefined) continue;
      applyYaml(target, spec, v, name, env);
    }
  }
}

function isLeaf(spec: Leaf | Node): spec is Leaf {
  return Array.isArray(spec);
}

function expandVars(text: string, where: string, env: NodeJS.ProcessEnv): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, fallback?: string) => {
    const v = env[name];
    if (v !== undefined && v !== "") return v;
    if (fallback !== undefined) return fallback;
    throw new ConfigError(`config: ${where} refers to \${${name}}, which is not set`);
  });
}

function readValue(kind: Kind, v: unknown, where: string): unknown {
  switch (kind) {
    case "string":
      if (typeof v !== "string") throw new ConfigError(`config: ${where} must be a string`);
      return v;
    case "boolean":
      if (typeof v === "boolean") return v;
      if (v === "true" || v === "false") return v === "true";
      throw new ConfigError(`config: ${where} must be true or false`);
    case "port":
      return readInteger(v, where, 0, 65535);
    case "expire":
      return readInteger(v, where, 1, maxAccessExpire);
    case "size":
      return readInteger(v, where, 1024, 64 * 1024 * 1024);
    case "memory":
      return readInteger(v, where, 1024, 64 * 1024 * 1024 * 1024);
    case "poolSize":
      return readInteger(v, where, 1, 1000);
    case "millis":
      return readInteger(v, where, 10, 600_000);
    case "seconds":
      return readInteger(v, where, 1, 30 * 24 * 3600);
    case "entries":
      return readInteger(v, where, 1, 10_000_000);
    case "origins":
      return readList(v, where, (o) => o === "*" || /^https?:\/\/[^/\s]+$/.test(o), "origins such as https://app.example.com, or *");
    case "limit":
      return readInteger(v, where, 1, 100_000_000);
    case "algorithm":
      if (v !== "HS256" && v !== "RS256" && v !== "ES256" && v !== "EdDSA") {
        throw new ConfigError(`config: ${where} must be one of HS256, RS256, ES256, EdDSA`);
      }
      return v;
    case "paths":
      return readList(v, where, (p) => p !== "", "file paths");
    case "httpUrl":
      if (typeof v !== "string") throw new ConfigError(`config: ${where} must be a string`);
      if (v !== "") checkUrl(v, where, ["http:", "https:"]);
      return v;
    case "cidrs":
      return readList(v, where, isCidr, "addresses or CIDR ranges such as 10.0.0.0/8 or ::1");
    case "redisType":
      if (v !== "node" && v !== "sentinel" && v !== "cluster") throw new ConfigError(`config: ${where} must be node, sentinel or cluster`);
      return v;
    case "workers":
      return readInteger(v, where, 0, 256);
    case "tolerance":
      return readInteger(v, where, 0, 60);
    case "cacheSize":
      return readInteger(v, where, 0, 10_000_000);
    case "headerSize":
      return readInteger(v, where, 4096, 1024 * 1024);
    case "streams":
      return readInteger(v, where, 1, 10_000);
    case "connections":
      return readInteger(v, where, 1, 1_000_000);
    case "logLevel":
      if (typeof v !== "string" || !logLevels.has(v)) {
        throw new ConfigError(`config: ${where} must be one of ${[...logLevels].join(", ")}`);
      }
      return v;
    case "dataSource":
      if (typeof v !== "string") throw new ConfigError(`config: ${where} must be a string`);
      checkDataSource(v, where);
      return v;
    case "redisUrl":
      if (typeof v !== "string") throw new ConfigError(`config: ${where} must be a string`);
      if (v !== "") checkUrl(v, where, ["redis:", "rediss:"]);
      return v;
  }
}

/** A YAML list, or a comma-separated string (from the environment), whose every item is `ok`. */
function readList(v: unknown, where: string, ok: (item: string) => boolean, what: string): string[] {
  const list = typeof v === "string" ? v.split(",").map((item) => item.trim()).filter(Boolean) : v;
  if (!Array.isArray(list) || !list.every((item) => typeof item === "string" && ok(item))) {
    throw new ConfigError(`config: ${where} must be a list of ${what}`);
  }
  return list;
}

function isCidr(text: string): boolean {
  const [address, bits, extra] = text.split("/");
  const family = isIP(address ?? "");
  if (family === 0 || extra !== undefined) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

function readInteger(v: unknown, where: string, min: number, max: number): number {
  const n = typeof v === "string" && /^\s*\d+\s*$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(`config: ${where} must be an integer from ${min} to ${max}`);
  }
  return n;
}

function checkDataSource(v: string, where: string): void {
  if (v.startsWith("sqlite:")) {
    if (v.length === "sqlite:".length) throw new ConfigError(`config: ${where} needs a path after sqlite:`);
    return;
  }
  if (v.startsWith("mysql:")) {
    const url = checkUrl(v, where, ["mysql:"]);
    if (url.pathname.length <= 1) throw new ConfigError(`config: ${where} must name a database (mysql://user:pass@host:port/db)`);
    return;
  }
  throw new ConfigError(`config: ${where} must start with sqlite: or mysql://`);
}

/** Parses a URL for validation; the message never repeats the URL, which may hold a password. */
function checkUrl(v: string, where: string, protocols: string[]): URL {
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new ConfigError(`config: ${where} is not a valid URL`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(`config: ${where} must use ${protocols.map((p) => p + "//").join(" or ")}`);
  }
  if (url.hostname === "") throw new ConfigError(`config: ${where} must name a host`);
  return url;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(".");
  let node = target;
  for (const k of keys.slice(0, -1)) node = node[k] as Record<string, unknown>;
  node[keys[keys.length - 1]!] = value;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
