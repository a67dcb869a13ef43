import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import type { Config } from "../src/config.js";
import { SearchService } from "../src/gen/search/v1/search_pb.js";
import { UserService } from "../src/gen/user/v1/user_pb.js";
import { openStorage } from "../src/service-context.js";
import { addUser } from "../src/user/manage-users.js";
import {
  callCode,
  checkRedis,
  needs,
  settlesTo,
  startTestApp,
  tempDir,
  testConfig,
  testKeyPrefix,
  testPasswordCost,
  testRedisUrl,
} from "./harness.js";

const dir = tempDir();
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill("SIGKILL");
  dir.remove();
});

const redisUrl = testRedisUrl();
const code = callCode;
const auth = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });
const cli = (port: number, ...args: string[]) => promisify(execFile)("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args]).then((r) => r.stdout.trim());

/** A port p with p + 10000 free too (a cluster node's bus port). */
async function portPair(): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((r) => {
      const s = createServer().once("error", () => r(false));
      s.listen(port, "127.0.0.1", () => s.close(() => r(true)));
    });
  for (;;) {
    const p = 20000 + Math.floor(Math.random() * 10000);
    if ((await free(p)) && (await free(p + 10000))) return p;
  }
}

function redisServer(args: string[]): void {
  const child = spawn("redis-server", args, { stdio: "ignore" });
  children.push(child);
}

async function until(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen in ${ms} ms`);
    await sleep(100);
  }
}

/** Two instances on the given Redis set-up share logout, session reuse and login limits. */
async function sharedStateWorks(name: string, cacheRedis: Partial<Config["cacheRedis"]>): Promise<void> {
  const base = testConfig(dir.path, { dataSource: `sqlite:${join(dir.path, `${name}.db`)}` });
  const config: Config = { ...base, cacheRedis: { ...base.cacheRedis, keyPrefix: testKeyPrefix(), ...cacheRedis } };
  const storage = await openStorage(config, { passwordCost: testPasswordCost });
  await addUser(storage, { username: "alice", password: "alice-password" });
  await addUser(storage, { username: "bob", password: "bob-password" });
  await storage.close();
  const apps = [await startTestApp(config), await startTestApp(config)];
  try {
    const users = apps.map((a) => createClient(UserService, createConnectTransport({ baseUrl: a.userUrl, httpVersion: "1.1" })));
    const searches = apps.map((a) => createClient(SearchService, createGrpcTransport({ baseUrl: a.searchUrl })));
    const s = await users[0]!.login({ username: "alice", password: "alice-password" });
    assert.equal(await code(searches[1]!.do({ name: "go-zero" }, auth(s.accessToken))), "ok");
    const next = await users[1]!.refresh({ refreshToken: s.refreshToken });
    assert.equal(await code(users[0]!.refresh({ refreshToken: s.refreshToken })), "Unauthenticated", "reuse seen by the other instance");
    // the other instance applies a revocation when the announcement arrives (through the cluster
    // bus, in Cluster mode) or at its next read of the table (100 ms on SQLite), whichever is first
    const refused = (instance: number, token: string) => settlesTo(500, "Unauthenticated", () => code(searches[instance]!.do({ name: "go-zero" }, auth(token))));
    assert.equal(await refused(1, next.accessToken), "Unauthenticated", "the session's access tokens are revoked");

    const t = await users[1]!.login({ username: "alice", password: "alice-password" });
    assert.equal(await code(users[1]!.logout({}, auth(t.accessToken))), "ok");
    assert.equal(await refused(0, t.accessToken), "Unauthenticated", "a logout reaches the other instance");

    for (let i = 0; i < 5; i++) assert.equal(await code(users[i % 2]!.login({ username: "bob", password: "wrong-password" })), "Unauthenticated");
    assert.equal(await code(users[0]!.login({ username: "bob", password: "bob-password" })), "ResourceExhausted");
    assert.equal(await code(users[1]!.login({ username: "bob", password: "bob-password" })), "ResourceExhausted");
  } finally {
    for (const a of apps) await a.close();
  }
}

describe("Redis Sentinel and Redis Cluster", { skip: needs("redis") }, () => {
  test("Sentinel: the primary is found through a sentinel; state is shared as with one server", async () => {
    await checkRedis(redisUrl!);
    const primary = new URL(redisUrl!);
    const port = await portPair();
    const conf = join(dir.path, "sentinel.conf");
    writeFileSync(conf, [`port ${port}`, "bind 127.0.0.1", `dir ${dir.path}`, `sentinel monitor bookstore-test ${primary.hostname} ${primary.port || 6379} 1`, ""].join("\n"));
    redisServer([conf, "--sentinel"]);
    await until("sentinel answers", async () => (await cli(port, "sentinel", "get-master-addr-by-name", "bookstore-test")).includes(primary.port || "6379"));
    await sharedStateWorks("sentinel", {
      type: "sentinel",
      url: `redis://127.0.0.1:${port}${primary.pathname}`,
      sentinelName: "bookstore-test",
    });
  });

  test("Cluster: keys spread over the nodes; every multi-key operation stays within a slot", async () => {
    await checkRedis(redisUrl!);
    const ports = [await portPair(), await portPair(), await portPair()];
    for (const p of ports) {
      const nodeDir = join(dir.path, `cluster-${p}`);
      mkdirSync(nodeDir);
      redisServer(["--port", String(p), "--bind", "127.0.0.1", "--cluster-enabled", "yes", "--cluster-config-file", join(nodeDir, "nodes.conf"), "--dir", nodeDir, "--save", "", "--appendonly", "no"]);
    }
    for (const p of ports) await until(`node ${p} answers`, async () => (await cli(p, "ping")) === "PONG");
    await promisify(execFile)("redis-cli", ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "0", "--cluster-yes"]);
    await until("cluster is ok", async () => (await cli(ports[0]!, "cluster", "info")).includes("cluster_state:ok"));
    await sharedStateWorks("cluster", {
      type: "cluster",
      url: `redis://127.0.0.1:${ports[0]}`,
      nodes: ports.slice(1).map((p) => `127.0.0.1:${p}`),
    });
    const counts = await Promise.all(ports.map(async (p) => Number(await cli(p, "dbsize"))));
    assert.ok(counts.filter((n) => n > 0).length >= 2, `keys on more than one node: ${counts.join(",")}`);
  });
});
