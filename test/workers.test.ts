import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { createServer, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { SearchService } from "../src/gen/search/v1/search_pb.js";
import { freePort } from "../scripts/free-port.js";
import { childEnv, dropKeys, needs, startServerProcess, tempDir, testKeyPrefix, testRedisUrl, testSecret, type RunResult } from "./harness.js";
import { exitWithin } from "./held-calls.js";

// README "Workers": the default count (one per core with CacheRedis.Url set, one otherwise) and
// what a worker that fails before it is ready does to the set. (More than one without Redis
// refusing to start, and the default of one without Redis, are in test/scale-out.test.ts.)

const dir = tempDir();
after(() => dir.remove());

const redisUrl = testRedisUrl();

/** A config file with its own key prefix and data folder, both ports chosen by the OS; `extra` lines follow (indented: inside CacheRedis). */
function configFile(name: string, extra: string[] = []): string {
  const file = join(dir.path, `${name}.yaml`);
  const lines = [`DataDir: ${join(dir.path, name)}`, "User:", "  Port: 0", "Search:", "  Port: 0", "CacheRedis:", `  KeyPrefix: "${testKeyPrefix()}"`, ...extra];
  writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

/**
 * Runs `bookstore ARGS` (optionally under `taskset -c CPUS`), killing it if it has not exited
 * on its own after a generous `ms`: `timedOut` says so.
 */
function run(args: string[], env: Record<string, string>, options: { ms?: number; cpus?: string } = {}): Promise<RunResult & { timedOut: boolean }> {
  const command = [process.execPath, resolve("bin/bookstore.js"), ...args];
  const [file, ...rest] = options.cpus === undefined ? command : ["taskset", "-c", options.cpus, ...command];
  return new Promise((done) => {
    const child = spawn(file!, rest, { cwd: dir.path, env: childEnv(env) });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.ms ?? 60_000);
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr, timedOut });
    });
    child.stdin.end();
  });
}

/** A loopback port where nothing listens (a connection is refused at once). */
const closedPort = freePort;

describe("bookstore serve --workers: start-up failures", () => {
  // REDIS_URL is what allows more than one worker; where Redis is not the point it names a port
  // nobody listens at (a worker would start without Redis, with a warning)
  const cases: {
    name: string;
    env: () => Promise<Record<string, string>>;
    /** More lines for the config file (see {@link configFile}). */
    extra?: string[];
    /** Whether the workers are forked before the failure (the primary migrates first, so a database it cannot reach stops it there). */
    inWorkers: boolean;
    reason: (env: Record<string, string>) => RegExp;
  }[] = [
    {
      name: "an access secret too short, in every worker",
      env: async () => ({ ACCESS_SECRET: "short-secret" }),
      inWorkers: true,
      reason: () => /^bookstore: Auth\.AccessSecret \(ACCESS_SECRET\) is 12 bytes; at least 32 are required$/,
    },
    {
      // every worker held at the same step of start-up (its first Redis connection, see `gate`),
      // then let go at once: all four fail alike moments later (the TLS key is read after
      // Redis, before listening), so the primary hears the same reason from several
      name: "a TLS key file that cannot be read, in all four workers at once",
      env: async () => ({ ACCESS_SECRET: testSecret(), REDIS_URL: `redis://127.0.0.1:${gate.port}/0` }),
      extra: ["  ConnectTimeout: 60000", "  CommandTimeout: 60000", "Database:", "  AutoMigrate: false", `CertFile: ${join(dir.path, "no-cert.pem")}`, `KeyFile: ${join(dir.path, "no-key.pem")}`],
      inWorkers: true,
      reason: () => new RegExp(`^bookstore: config: cannot read CertFile ${join(dir.path, "no-cert.pem").replace(/[.]/g, "\\.")}: ENOENT$`),
    },
    {
      name: "a port taken, in every worker",
      env: async () => ({ ACCESS_SECRET: testSecret(), USER_PORT: String(blocker.port) }),
      inWorkers: true,
      reason: () => new RegExp(`^bookstore: User\\.Port \\(USER_PORT\\): address 127\\.0\\.0\\.1:${blocker.port} is already in use$`),
    },
    {
      name: "an unreachable database",
      env: async () => ({ ACCESS_SECRET: testSecret(), DATABASE_URL: `mysql://bookstore:not-a-secret@127.0.0.1:${await closedPort()}/bookstore` }),
      inWorkers: false,
      reason: (env) => new RegExp(`^bookstore: Database\\.DataSource \\(DATABASE_URL\\): cannot reach the database at 127\\.0\\.0\\.1:${new URL(env.DATABASE_URL!).port} \\(ECONNREFUSED\\)$`),
    },
  ];
  const blocker = { port: 0, server: createServer() };
  // a "Redis" that answers nothing and holds each connection until four are open (one per
  // worker: with AutoMigrate off the primary opens none), then drops them all together and
  // refuses any later one; each worker waits for its first Redis connection
  const held: Socket[] = [];
  const gate = {
    port: 0,
    server: createServer((socket) => {
      socket.on("error", () => undefined);
      if (held.length >= 4) return void socket.destroy();
      held.push(socket);
      if (held.length === 4) for (const s of held) s.destroy();
    }),
  };
  before(async () => {
    for (const s of [blocker, gate]) {
      await new Promise<void>((r) => s.server.listen(0, "127.0.0.1", r));
      s.port = (s.server.address() as { port: number }).port;
    }
  });
  after(async () => {
    for (const s of held) s.destroy();
    for (const s of [blocker, gate]) await new Promise<void>((r) => s.server.close(() => r()));
  });

  for (const c of cases) {
    test(`${c.name}: the set stops with exit 1 on its own, the one-line reason printed once`, { timeout: 120_000 }, async () => {
      const env = { USER_PORT: "0", SEARCH_PORT: "0", REDIS_URL: `redis://127.0.0.1:${await closedPort()}/0`, ...(await c.env()) };
      const file = configFile(c.name.replace(/\W+/g, "-"), c.extra);
      const r = await run(["serve", "-f", file, "--workers", "4"], env);
      assert.equal(r.timedOut, false, `still running after 60 s (restarting in a loop?): ${r.stdout}${r.stderr}`);
      assert.equal(r.code, 1, r.stderr);
      if (c.inWorkers) {
        assert.match(r.stdout, /"workers":4,"msg":"starting workers"/, "the workers were started: the failure is theirs");
        assert.match(r.stdout, /"msg":"worker failed before it was ready; stopping"/);
      } else {
        assert.doesNotMatch(r.stdout, /starting workers/);
      }
      assert.doesNotMatch(r.stdout, /"msg":"worker ready"/);
      assert.doesNotMatch(r.stdout, /worker died; starting another/, "not restarted");
      const lines = r.stderr.split("\n").filter((l) => l !== "");
      assert.equal(lines.length, 1, `one line, printed once: ${r.stderr}`);
      assert.match(lines[0]!, c.reason(env));
    });
  }
});

describe("bookstore serve: how many workers by default", { skip: needs("redis") }, () => {
  const prefixes: string[] = [];
  after(async () => {
    for (const p of prefixes) await dropKeys(redisUrl!, p);
  });
  const env = () => ({ REDIS_URL: redisUrl!, ACCESS_SECRET: testSecret() });
  const file = (name: string) => {
    const f = configFile(name);
    prefixes.push(/KeyPrefix: "([^"]+)"/.exec(readFileSync(f, "utf8"))![1]!);
    return f;
  };

  test("with CacheRedis.Url set and no Workers: one worker per core, serving", { timeout: 120_000 }, async () => {
    const cores = availableParallelism();
    if (cores === 1) {
      // nothing to fork: one process serves, as with --workers 1
      const single = await startServerProcess(["serve", "-f", file("per-core")], { cwd: dir.path, env: env() });
      assert.doesNotMatch(single.output(), /starting workers/);
      assert.equal(await single.stop(), 0);
      return;
    }
    // ready once a port listens (with workers or without), so that a wrong count fails below, killing it
    const primary = await startServerProcess(["serve", "-f", file("per-core")], { cwd: dir.path, env: env() });
    try {
      assert.match(primary.output(), new RegExp(`"workers":${cores},"msg":"starting workers"`));
      await primary.waitFor(/"msg":"worker ready"/, cores, 60_000);
      const pids = new Set([...primary.output().matchAll(/"pid":(\d+)[^\n]*"msg":"worker ready"/g)].map((m) => m[1]));
      assert.equal(pids.size, cores, "one process per core");
      const search = createClient(SearchService, createConnectTransport({ baseUrl: `http://127.0.0.1:${primary.ports().search}`, httpVersion: "1.1" }));
      await search.ping({});
    } finally {
      primary.child.kill("SIGTERM");
      assert.deepEqual(await exitWithin(primary, 60_000), { code: 0, signal: null });
    }
  });

  const taskset = spawnSync("taskset", ["-c", "0", "true"]).status === 0;
  test("the count follows the cores the process may use: on one core (taskset -c 0), one process serves", { skip: taskset ? false : "needs taskset (util-linux)", timeout: 120_000 }, async () => {
    const server = await startServerProcess(["serve", "-f", file("one-core")], {
      cwd: dir.path,
      env: env(),
      via: ["taskset", "-c", "0"],
      ready: /"msg":"listening"/,
      readyCount: 2,
    });
    assert.doesNotMatch(server.output(), /starting workers/, "no primary: the one process serves both ports itself");
    assert.equal(await server.stop(), 0, server.output());
  });
});
