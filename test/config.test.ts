import assert from "node:assert/strict";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { resolveAccessSecret, secretFileName, weakSecretReason } from "../src/auth/secret.js";
import { ConfigError, defaultConfig, loadConfig } from "../src/config.js";
import { tempDir, testSecret } from "./harness.js";

const dir = tempDir();
after(() => dir.remove());
const write = (name: string, text: string) => {
  const path = join(dir.path, name);
  writeFileSync(path, text);
  return path;
};
const refuses = (pattern: RegExp) => (err: unknown) => err instanceof ConfigError && pattern.test(err.message);

describe("loadConfig", () => {
  test("etc/bookstore.yaml is the embedded default", () => {
    assert.deepEqual(loadConfig({ file: "etc/bookstore.yaml" }), defaultConfig);
    assert.deepEqual(loadConfig({}), defaultConfig);
    assert.ok(Object.isFrozen(loadConfig({}).auth));
  });

  test("lists of addresses, CIDR ranges and files read from YAML or comma-separated variables", () => {
    const c = loadConfig({ env: { TRUSTED_PROXIES: "10.0.0.0/8, ::1,192.168.1.7", VERIFY_KEY_FILES: "a.pem,b.pem", REDIS_NODES: "r1:6379" } });
    assert.deepEqual(c.trustedProxies, ["10.0.0.0/8", "::1", "192.168.1.7"]);
    assert.deepEqual(c.auth.verifyKeyFiles, ["a.pem", "b.pem"]);
    assert.deepEqual(c.cacheRedis.nodes, ["r1:6379"]);
    for (const bad of ["10.0.0.0/33", "example.com", "10.0.0.1/8/1", "::1/129"]) {
      assert.throws(() => loadConfig({ env: { TRUSTED_PROXIES: bad } }), refuses(/TRUSTED_PROXIES must be a list of addresses or CIDR ranges/), bad);
    }
    assert.throws(() => loadConfig({ env: { SIGNING_ALGORITHM: "HS512" } }), refuses(/must be one of HS256, RS256, ES256, EdDSA/));
    assert.throws(() => loadConfig({ env: { REDIS_TYPE: "ring" } }), refuses(/must be node, sentinel or cluster/));
    assert.throws(() => loadConfig({ env: { JWKS_URL: "ftp://keys" } }), refuses(/JWKS_URL must use http:\/\/ or https:\/\//));
  });

  test("what each Redis mode needs is checked when the config is read, naming the keys", () => {
    const redis = (env: Record<string, string>) => () => loadConfig({ env: { REDIS_URL: "redis://127.0.0.1:6379", ...env } });
    assert.throws(redis({ REDIS_TYPE: "sentinel" }), refuses(/^config: CacheRedis\.SentinelName is required when CacheRedis\.Type is sentinel$/));
    assert.throws(redis({ REDIS_TYPE: "cluster", REDIS_URL: "redis://127.0.0.1:7000/3" }), refuses(/^config: CacheRedis\.Url: a Redis Cluster has only database 0$/));
    assert.throws(redis({ REDIS_TYPE: "cluster", REDIS_NODES: "r1:7001,r2" }), refuses(/^config: CacheRedis\.Nodes: r2 is not host:port$/));
    assert.equal(redis({ REDIS_TYPE: "sentinel", REDIS_SENTINEL_NAME: "primary", REDIS_NODES: "[::1]:26380" })().cacheRedis.sentinelName, "primary");
    assert.equal(redis({ REDIS_TYPE: "cluster", REDIS_URL: "redis://127.0.0.1:7000/0" })().cacheRedis.type, "cluster");
    // without a Url nothing of Redis is used, so nothing of it is required
    assert.equal(loadConfig({ env: { REDIS_TYPE: "sentinel" } }).cacheRedis.url, "");
  });

  test("go-zero key names, ${VAR} and ${VAR:-fallback} expansion", () => {
    const file = write("a.yaml", "Auth:\n  AccessSecret: ${MY_SECRET}\n  AccessExpire: ${EXP:-600}\nUser:\n  Port: 9000\n");
    const secret = testSecret();
    const c = loadConfig({ file, env: { MY_SECRET: secret } });
    assert.equal(c.auth.accessSecret, secret);
    assert.equal(c.auth.accessExpire, 600);
    assert.equal(c.user.port, 9000);
    assert.equal(c.search.port, 8889);
    assert.throws(() => loadConfig({ file, env: {} }), refuses(/Auth\.AccessSecret refers to \$\{MY_SECRET\}, which is not set/));
  });

  test("environment variables override the file", () => {
    const file = write("b.yaml", "Host: 0.0.0.0\nUser:\n  Port: 9000\n");
    const env = {
      ACCESS_SECRET: "s".repeat(8) + testSecret(),
      ACCESS_EXPIRE: "120",
      DATABASE_URL: "mysql://u:p@db.example:3306/app",
      REDIS_URL: "redis://cache:6379/2",
      HOST: "127.0.0.2",
      USER_PORT: "18888",
      SEARCH_PORT: "18889",
    };
    const c = loadConfig({ file, env });
    assert.deepEqual(
      [c.auth.accessSecret, c.auth.accessExpire, c.database.dataSource, c.cacheRedis.url, c.host, c.user.port, c.search.port],
      [env.ACCESS_SECRET, 120, env.DATABASE_URL, env.REDIS_URL, "127.0.0.2", 18888, 18889],
    );
  });

  test("mistakes are one clear line, never echoing a password", () => {
    assert.throws(() => loadConfig({ file: write("c.yaml", "Auth:\n  AccessSecrett: x\n") }), refuses(/unknown key Auth\.AccessSecrett/));
    assert.throws(() => loadConfig({ env: { USER_PORT: "70000" } }), refuses(/USER_PORT must be an integer from 0 to 65535/));
    assert.throws(() => loadConfig({ env: { ACCESS_EXPIRE: "-5" } }), refuses(/ACCESS_EXPIRE/));
    assert.throws(() => loadConfig({ env: { DATABASE_URL: "postgres://u:hunter2@h/db" } }), (err: unknown) =>
      err instanceof ConfigError && /DATABASE_URL must start with sqlite: or mysql:\/\//.test(err.message) && !err.message.includes("hunter2"));
    assert.throws(() => loadConfig({ env: { DATABASE_URL: "mysql://u:hunter2@h:3306" } }), (err: unknown) =>
      err instanceof ConfigError && /must name a database/.test(err.message) && !err.message.includes("hunter2"));
    assert.throws(() => loadConfig({ env: { REDIS_URL: "http://x" } }), refuses(/REDIS_URL must use redis:\/\/ or rediss:\/\//));
    assert.throws(() => loadConfig({ file: write("d.yaml", "- a\n- b\n") }), refuses(/must be a mapping/));
    assert.throws(() => loadConfig({ file: join(dir.path, "missing.yaml") }), refuses(/cannot read config file .*ENOENT/));
  });
});

describe("access secret", () => {
  test("weak secrets are refused", () => {
    for (const s of ["", "short", "x".repeat(64), "ad879037-c7a4-4063-9236-6bfc35d54b7d", "change-me-to-a-random-256-bit-value", "your-256-bit-secret-keep-this-safe-please"]) {
      assert.notEqual(weakSecretReason(s), undefined, s);
    }
    assert.equal(weakSecretReason(testSecret()), undefined);
    assert.throws(() => resolveAccessSecret({ configured: "too-short", dataDir: dir.path, allowGenerated: true }), refuses(/Auth\.AccessSecret \(ACCESS_SECRET\) is 9 bytes; at least 32/));
  });

  test("with no secret, MySQL deployments must configure one", () => {
    assert.throws(() => resolveAccessSecret({ configured: "", dataDir: dir.path, allowGenerated: false }), refuses(/must be set/));
  });

  test("the embedded default generates one secret (0600) and keeps it", () => {
    const dataDir = join(dir.path, "gen");
    const a = resolveAccessSecret({ configured: "", dataDir, allowGenerated: true });
    const path = join(dataDir, secretFileName);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(weakSecretReason(a), undefined);
    assert.equal(resolveAccessSecret({ configured: "", dataDir, allowGenerated: true }), a);
    assert.equal(readFileSync(path, "utf8").trim(), a);
  });

  test("a secret file readable by others, or weak, refuses to start", () => {
    const dataDir = join(dir.path, "loose");
    mkdirSync(dataDir);
    const path = join(dataDir, secretFileName);
    writeFileSync(path, testSecret(), { mode: 0o644 });
    chmodSync(path, 0o644);
    assert.throws(() => resolveAccessSecret({ configured: "", dataDir, allowGenerated: true }), refuses(/readable by other users/));
    chmodSync(path, 0o600);
    writeFileSync(path, "short\n");
    assert.throws(() => resolveAccessSecret({ configured: "", dataDir, allowGenerated: true }), refuses(/delete the file/));
  });
});
