import { request } from "node:http";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { SearchService } from "../src/gen/search/v1/search_pb.js";
import { UserService } from "../src/gen/user/v1/user_pb.js";
import {
  callCode,
  checkRedis,
  dropKeys,
  needs,
  resetDatabase,
  runBookstore,
  type ServerProcess,
  startServerProcess,
  tempDir,
  testKeyPrefix,
  testMysqlUrl,
  testRedisUrl,
  testSecret,
} from "./harness.js";

const dir = tempDir();
after(() => dir.remove());

const code = callCode;
const auth = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });
const mysql = testMysqlUrl();
const redisUrl = testRedisUrl();
const missing = needs("mysql", "redis");

/** A config file both processes share: same database, Redis (own key prefix), secret and limits. */
function sharedConfig(prefix: string): { file: string; env: Record<string, string> } {
  const file = join(dir.path, `scale-${prefix.replace(/\W/g, "")}.yaml`);
  writeFileSync(
    file,
    ["User:", "  Port: 0", "Search:", "  Port: 0", "CacheRedis:", `  KeyPrefix: "${prefix}"`, "LoginLimits:", "  MaxFailuresPerUser: 3", `DataDir: ${join(dir.path, "scale-data")}`].join("\n") + "\n",
  );
  return { file, env: { DATABASE_URL: mysql!, REDIS_URL: redisUrl!, ACCESS_SECRET: testSecret(), WORKERS: "1" } };
}

describe("two server processes on one MariaDB and one Redis", { skip: missing }, () => {
  const prefix = testKeyPrefix();
  let shared: ReturnType<typeof sharedConfig>;
  const procs: ServerProcess[] = [];
  const url = (p: ServerProcess, service: "user" | "search") => `http://127.0.0.1:${p.ports()[service]}`;
  const userClient = (p: ServerProcess) => createClient(UserService, createConnectTransport({ baseUrl: url(p, "user"), httpVersion: "1.1" }));
  const searchClient = (p: ServerProcess) => createClient(SearchService, createGrpcTransport({ baseUrl: url(p, "search") }));
  const addUser = async (name: string, password: string) => {
    const r = await runBookstore(["user", "add", name, "-f", shared.file], { env: shared.env, stdin: `${password}\n` });
    assert.equal(r.code, 0, r.stderr);
  };

  before(async () => {
    await checkRedis(redisUrl!);
    await resetDatabase(mysql!);
    shared = sharedConfig(prefix);
    const migrated = await runBookstore(["migrate", "-f", shared.file], { env: shared.env });
    assert.equal(migrated.code, 0, migrated.stderr);
    for (const name of ["alice", "bob", "carol"]) await addUser(name, `${name}-password`);
    for (let i = 0; i < 2; i++) procs.push(await startServerProcess(["serve", "-f", shared.file], { env: shared.env }));
    assert.notEqual(procs[0]!.ports().user, procs[1]!.ports().user);
  });
  after(async () => {
    for (const p of procs) assert.equal(await p.stop(), 0, "clean exit");
    await dropKeys(redisUrl!, prefix);
  });

  test("a token issued by one is accepted by the other", async () => {
    const [a, b] = procs as [ServerProcess, ServerProcess];
    const { accessToken } = await userClient(a).login({ username: "alice", password: "alice-password" });
    assert.equal((await searchClient(b).do({ name: "go-zero" }, auth(accessToken))).count, 100n);
    const fromB = await userClient(b).login({ username: "alice", password: "alice-password" });
    assert.equal((await searchClient(a).do({ name: "go-zero" }, auth(fromB.accessToken))).count, 100n);
  });

  test("logout on one is refused on the other at once; so is a refresh token replayed there", async () => {
    const [a, b] = procs as [ServerProcess, ServerProcess];
    const session = await userClient(a).login({ username: "alice", password: "alice-password" });
    assert.equal(await code(searchClient(b).do({ name: "go-zero" }, auth(session.accessToken))), "ok");
    assert.equal(await code(userClient(a).logout({}, auth(session.accessToken))), "ok");
    assert.equal(await code(searchClient(b).do({ name: "go-zero" }, auth(session.accessToken))), "Unauthenticated");
    assert.equal(await code(userClient(b).refresh({ refreshToken: session.refreshToken })), "Unauthenticated");

    const other = await userClient(a).login({ username: "alice", password: "alice-password" });
    assert.equal(await code(userClient(b).refresh({ refreshToken: other.refreshToken })), "ok");
    assert.equal(await code(userClient(a).refresh({ refreshToken: other.refreshToken })), "Unauthenticated", "reuse seen across instances");
  });

  test("the login failure limit counts across both", async () => {
    const [a, b] = procs as [ServerProcess, ServerProcess];
    const wrong = { username: "bob", password: "not-bobs-password" };
    assert.equal(await code(userClient(a).login(wrong)), "Unauthenticated");
    assert.equal(await code(userClient(b).login(wrong)), "Unauthenticated");
    assert.equal(await code(userClient(a).login(wrong)), "Unauthenticated");
    // three failures in all (MaxFailuresPerUser: 3): locked on both, even with the right password
    assert.equal(await code(userClient(b).login({ username: "bob", password: "bob-password" })), "ResourceExhausted");
    assert.equal(await code(userClient(a).login({ username: "bob", password: "bob-password" })), "ResourceExhausted");
  });

  test("a password changed through the CLI takes effect on both at once", async () => {
    const [a, b] = procs as [ServerProcess, ServerProcess];
    for (const p of procs) assert.equal(await code(userClient(p).login({ username: "carol", password: "carol-password" })), "ok");
    const r = await runBookstore(["user", "passwd", "carol", "-f", shared.file], { env: shared.env, stdin: "carol-new-password\n" });
    assert.equal(r.code, 0, r.stderr);
    for (const p of [a, b]) {
      assert.equal(await code(userClient(p).login({ username: "carol", password: "carol-password" })), "Unauthenticated");
      assert.equal(await code(userClient(p).login({ username: "carol", password: "carol-new-password" })), "ok");
    }
  });
});

describe("bookstore serve --workers", () => {
  test("without Redis, more than one worker is refused: the embedded default is single-instance", async () => {
    const r = await runBookstore(["serve", "--workers", "2"], { cwd: dir.path, env: { ACCESS_SECRET: testSecret() } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^bookstore: Workers .* is 2, but without CacheRedis.Url \(REDIS_URL\) .* single-instance\n$/);
    const bad = await runBookstore(["serve", "--workers", "many"], { cwd: dir.path });
    assert.equal(bad.code, 2);
    const single = await startServerProcess(["serve"], { cwd: dir.path, env: { ACCESS_SECRET: testSecret(), USER_PORT: "0", SEARCH_PORT: "0" } });
    try {
      await single.waitFor(/"msg":"single-instance mode: .*set REDIS_URL/);
      assert.doesNotMatch(single.output(), /starting workers/);
    } finally {
      assert.equal(await single.stop(), 0);
    }
  });

  test("a start-up failure in the workers stops the set with exit 1 within seconds, its reason printed once", { skip: missing, timeout: 60_000 }, async () => {
    const wrongPassword = mysql!.replace(/\/\/([^:]+):[^@]*@/, "//$1:not-the-password@");
    const cases: [Record<string, string>, RegExp][] = [
      [{ ACCESS_SECRET: "short" }, /ACCESS_SECRET\) is 5 bytes/],
      [{ ACCESS_SECRET: testSecret(), DATABASE_URL: wrongPassword }, /refused the user name or password/],
    ];
    for (const [env, reason] of cases) {
      const t = performance.now();
      const r = await runBookstore(["serve", "--workers", "2"], { cwd: dir.path, env: { REDIS_URL: redisUrl!, USER_PORT: "0", SEARCH_PORT: "0", ...env } });
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr.split("\n").filter((l) => reason.test(l)).length, 1, `printed once: ${r.stderr}`);
      assert.ok(performance.now() - t < 20_000, "within seconds, not hanging");
    }
  });

  test("with two workers, /metrics on whichever answers counts the calls of both", { skip: missing }, async () => {
    const prefix = testKeyPrefix();
    const shared = sharedConfig(prefix);
    const env = { ...shared.env, WORKERS: "0" };
    assert.equal((await runBookstore(["migrate", "-f", shared.file], { env })).code, 0);
    const primary = await startServerProcess(["serve", "-f", shared.file, "--workers", "2"], { env, ready: /"msg":"worker ready"/, readyCount: 2 });
    try {
      const { search } = primary.ports();
      // a connection each, so that the primary hands them to both workers
      const fresh = (method: string, path: string, body?: string) =>
        new Promise<{ status: number; text: string }>((resolve, reject) => {
          const req = request({ host: "127.0.0.1", port: search, method, path, agent: false, headers: body === undefined ? {} : { "content-type": "application/json" } }, (res) => {
            let text = "";
            res.setEncoding("utf8").on("data", (d) => (text += d)).on("end", () => resolve({ status: res.statusCode!, text }));
          });
          req.on("error", reject).end(body);
        });
      for (let i = 0; i < 20; i++) assert.equal((await fresh("POST", "/search.v1.SearchService/Ping", "{}")).status, 200);
      for (let i = 0; i < 6; i++) {
        const scrape = await fresh("GET", "/metrics");
        assert.equal(scrape.status, 200);
        assert.match(scrape.text, /^rpc_requests_total\{method="search\.v1\.SearchService\/Ping",code="ok"\} 20$/m, `scrape ${i}`);
      }
    } finally {
      await primary.stop();
      await dropKeys(redisUrl!, prefix);
    }
  });

  test("N workers share the ports; a dead worker is replaced; SIGTERM stops them all gracefully", { skip: missing }, async () => {
    const prefix = testKeyPrefix();
    const shared = sharedConfig(prefix);
    const env = { ...shared.env, WORKERS: "0" };
    const migrated = await runBookstore(["migrate", "-f", shared.file], { env });
    assert.equal(migrated.code, 0, migrated.stderr);
    const primary = await startServerProcess(["serve", "-f", shared.file, "--workers", "2"], { env, ready: /"msg":"worker ready"/, readyCount: 2 });
    try {
      const workerPids = () => [...primary.output().matchAll(/"pid":(\d+)[^\n]*"msg":"worker ready"/g)].map((m) => Number(m[1]));
      assert.equal(new Set(workerPids()).size, 2);
      const ports = primary.ports();
      const ping = () => code(createClient(SearchService, createConnectTransport({ baseUrl: `http://127.0.0.1:${ports.search}`, httpVersion: "1.1" })).ping({}));
      for (let i = 0; i < 10; i++) assert.equal(await ping(), "ok");

      process.kill(workerPids()[0]!, "SIGKILL");
      await primary.waitFor(/"msg":"worker died; starting another"/);
      await primary.waitFor(/"msg":"worker ready"/, 3);
      for (let i = 0; i < 10; i++) assert.equal(await ping(), "ok");

      const pids = workerPids();
      assert.equal(await primary.stop(), 0);
      for (const pid of pids.slice(1)) assert.throws(() => process.kill(pid, 0), "every worker has exited");
      assert.match(primary.output(), /"msg":"shutting down workers"/);
      assert.match(primary.output().trimEnd().split("\n").at(-1)!, /"msg":"stopped"/, "the primary's last line");
    } finally {
      await primary.stop();
      await dropKeys(redisUrl!, prefix);
    }
  });
});
