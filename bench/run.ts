// npm run bench [-- --quick] [--seconds N] [--runs N] [--out FILE]
//
// Side-by-side throughput of this project's server and its peers on the same machine, in one
// run, reported as ratios against the performance goals. Servers run pinned to core 0 and the
// load generator (this process) to core 1 when `taskset` and two cores exist. Every load's
// answers are checked (non-2xx or failed calls invalidate a figure). Never asserts a speed.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import autocannon from "autocannon";
import { createPasswordHasher } from "../src/auth/password.js";
import { createTokenService } from "../src/auth/tokens.js";
import { createSessions } from "../src/user/sessions.js";
import { systemClock } from "../src/clock.js";
import { loadConfig } from "../src/config.js";
import { DoRequestSchema } from "../src/gen/search/v1/search_pb.js";
import { openStorage } from "../src/service-context.js";
import { login } from "../src/user/login.js";
import { addUser } from "../src/user/manage-users.js";
import { freePort } from "../scripts/free-port.js";
import { grpcLoad } from "./grpc-load.js";
import { interleavedRates } from "./interleave.mjs";

const { values } = parseArgs({
  options: { quick: { type: "boolean" }, seconds: { type: "string" }, runs: { type: "string" }, out: { type: "string" } },
});
const quick = values.quick === true;
const seconds = Number(values.seconds ?? (quick ? 1 : 5));
const runs = Number(values.runs ?? (quick ? 1 : 5));
const connections = 50;
const root = resolve(import.meta.dirname, "..");

const cores = availableParallelism();
const hasTaskset = (() => {
  try {
    execFileSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
const pinned = hasTaskset && cores >= 2;
if (pinned) execFileSync("taskset", ["-pc", "1", String(process.pid)], { stdio: "ignore" });

const children: ChildProcess[] = [];
/** Starts a server process (pinned to core 0 when possible) and waits for its "ready" line or port. */
async function startServer(args: string[], env: NodeJS.ProcessEnv, readyWhen: string | number, cpu: string | undefined = pinned ? "0" : undefined): Promise<ChildProcess> {
  const cmd = cpu !== undefined ? "taskset" : process.execPath;
  const argv = cpu !== undefined ? ["-c", cpu, process.execPath, ...args] : args;
  const child = spawn(cmd, argv, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  await new Promise<void>((ok, fail) => {
    const onData = (d: Buffer) => {
      out += d;
      if (typeof readyWhen === "string" && out.includes(readyWhen)) ok();
    };
    if (typeof readyWhen === "number") waitForPort(readyWhen).then(ok, fail);
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => fail(new Error(`${args.join(" ")} exited ${code}: ${out}`)));
  });
  child.removeAllListeners("exit");
  child.stdout!.resume();
  child.stderr!.resume();
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise<void>((r) => {
    child.once("exit", () => r());
    child.kill("SIGTERM");
  });
}

interface Figure {
  rps: number;
  p50ms: number;
  p99ms: number;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function http1(url: string, body: string, token?: string, duration = seconds): Promise<Figure> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await autocannon({ url, connections, duration, method: "POST", headers, body });
  if (r.non2xx > 0 || r.errors > 0 || r.timeouts > 0) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
  return { rps: r.requests.average, p50ms: r.latency.p50, p99ms: r.latency.p99 };
}

const doMessage = toBinary(DoRequestSchema, create(DoRequestSchema, { name: "go-zero" }));

async function grpc(url: string, token: string, duration = seconds): Promise<Figure> {
  const r = await grpcLoad({ url, path: "/search.v1.SearchService/Do", message: doMessage, headers: { authorization: `Bearer ${token}` }, connections: 4, inFlight: 12, seconds: duration });
  if (r.errors > 0) throw new Error(`${url}: ${r.errors} failed gRPC calls`);
  return r;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "bookstore-bench-"));
  const secret = randomBytes(32).toString("base64url");
  const configFile = join(dir, "bench.yaml");
  const [userPort, searchPort, barePort, fastifyPort, grpcjsPort, clusterPort, prodUserPort, prodSearchPort] = await Promise.all(Array.from({ length: 8 }, freePort));
  // the production mode: the same server with Redis (and MySQL when DATABASE_URL names one)
  const prodRedis = process.env.REDIS_URL || "redis://127.0.0.1:6379/15";
  const prodDatabase = process.env.DATABASE_URL?.startsWith("mysql://") ? process.env.DATABASE_URL : undefined;
  writeFileSync(configFile, `DataDir: ${JSON.stringify(dir)}\nLog:\n  Level: warn\nDatabase:\n  DataSource: ${JSON.stringify(`sqlite:${join(dir, "bench.db")}`)}\n`);
  const env: NodeJS.ProcessEnv = { ...process.env, ACCESS_SECRET: secret, USER_PORT: String(userPort), SEARCH_PORT: String(searchPort), CONFIG_FILE: configFile };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  const password = "bench-password";
  const config = loadConfig({ file: configFile, env });
  const storage = await openStorage(config);
  await addUser(storage, { username: "bench", password });

  try {
    // the compiled build, as the container runs it (tsx's transpiled output costs about 5%)
    execFileSync("npm", ["run", "-s", "build"], { cwd: root, stdio: "ignore" });
    await startServer(["dist/run.js", "serve", "-f", configFile], env, searchPort);
    const prodFile = join(dir, "bench-redis.yaml");
    writeFileSync(prodFile, `DataDir: ${JSON.stringify(dir)}\nLog:\n  Level: warn\nWorkers: 1\nCacheRedis:\n  KeyPrefix: "bench-${randomBytes(4).toString("hex")}:"\nDatabase:\n  DataSource: ${JSON.stringify(prodDatabase ?? `sqlite:${join(dir, "bench-redis.db")}`)}\n`);
    const prodEnv = { ...env, REDIS_URL: prodRedis, USER_PORT: String(prodUserPort), SEARCH_PORT: String(prodSearchPort) };
    const prodStorage = await openStorage(loadConfig({ file: prodFile, env: prodEnv }));
    await addUser(prodStorage, { username: "bench", password }).catch(() => undefined); // MySQL: kept from an earlier run
    await prodStorage.close();
    await startServer(["dist/run.js", "serve", "-f", prodFile], prodEnv, prodSearchPort);
    await startServer(["--import", "tsx", "bench/peers/bare.ts"], { ...env, PORT: String(barePort) }, "ready");
    await startServer(["--import", "tsx", "bench/peers/fastify.ts"], { ...env, PORT: String(fastifyPort) }, "ready");
    await startServer(["--import", "tsx", "bench/peers/grpc-js.ts"], { ...env, PORT: String(grpcjsPort) }, "ready");

    const loginRes = await fetch(`http://127.0.0.1:${userPort}/user.v1.UserService/Login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "bench", password }),
    });
    const token = ((await loginRes.json()) as { accessToken: string }).accessToken;
    const ping = "/search.v1.SearchService/Ping";
    const doPath = "/search.v1.SearchService/Do";
    const doBody = '{"name":"go-zero"}';
    // in this order, every pair a goal compares runs back to back in each round
    const loads: Record<string, (seconds: number) => Promise<Figure>> = {
      "bare node:http, ping": (d) => http1(`http://127.0.0.1:${barePort}${ping}`, "{}", undefined, d),
      "bare node:http, HMAC-verified Do": (d) => http1(`http://127.0.0.1:${barePort}${doPath}`, doBody, token, d),
      "Fastify 5, ping": (d) => http1(`http://127.0.0.1:${fastifyPort}${ping}`, "{}", undefined, d),
      "Fastify 5 + @fastify/jwt, Do": (d) => http1(`http://127.0.0.1:${fastifyPort}${doPath}`, doBody, token, d),
      "bookstore, Do (Connect JSON)": (d) => http1(`http://127.0.0.1:${searchPort}${doPath}`, doBody, token, d),
      "bookstore, Ping (Connect JSON)": (d) => http1(`http://127.0.0.1:${searchPort}${ping}`, "{}", undefined, d),
      "bookstore + Redis, Do (Connect JSON)": (d) => http1(`http://127.0.0.1:${prodSearchPort}${doPath}`, doBody, token, d),
      "bookstore + Redis, Ping (Connect JSON)": (d) => http1(`http://127.0.0.1:${prodSearchPort}${ping}`, "{}", undefined, d),
      "bookstore, Do (gRPC h2c)": (d) => grpc(`http://127.0.0.1:${searchPort}`, token, d),
      "@grpc/grpc-js + JWT interceptor, Do": (d) => grpc(`http://127.0.0.1:${grpcjsPort}`, token, d),
    };
    // warm-up: module loading, JIT and caches settle before anything is counted
    const warmSeconds = quick ? 0.5 : 2;
    await Promise.all([barePort, fastifyPort, searchPort, prodSearchPort].map((p) => http1(`http://127.0.0.1:${p}${ping}`, "{}", undefined, warmSeconds)));
    await Promise.all([barePort, fastifyPort, searchPort, prodSearchPort].map((p) => http1(`http://127.0.0.1:${p}${doPath}`, doBody, token, warmSeconds)));
    await grpcLoad({ url: `http://127.0.0.1:${searchPort}`, path: doPath, message: doMessage, headers: { authorization: `Bearer ${token}` }, connections: 4, inFlight: 12, seconds: warmSeconds });
    await grpcLoad({ url: `http://127.0.0.1:${grpcjsPort}`, path: doPath, message: doMessage, headers: { authorization: `Bearer ${token}` }, connections: 4, inFlight: 12, seconds: warmSeconds });
    const samples: Record<string, Figure[]> = {};
    for (let r = 0; r < runs; r++) {
      for (const [name, load] of Object.entries(loads)) {
        // a server idle for a while starts slow (V8 shrinks its heap when idle): one uncounted second first
        await load(quick ? 0.2 : 1);
        (samples[name] ??= []).push(await load(seconds));
      }
    }
    const figures: Record<string, Figure> = {};
    for (const [name, list] of Object.entries(samples)) {
      figures[name] = { rps: median(list.map((f) => f.rps)), p50ms: median(list.map((f) => f.p50ms)), p99ms: median(list.map((f) => f.p99ms)) };
    }

    // token verification on one core: the raw HMAC floor against first sight of distinct tokens,
    // in a fresh process (pinned to core 0, the servers idle) running the compiled verifier
    const microMs = quick ? 300 : 4000;
    const verifyArgs = [join(root, "bench/verify.mjs"), secret, String(microMs)];
    const micro = JSON.parse(
      execFileSync(pinned ? "taskset" : process.execPath, pinned ? ["-c", "0", process.execPath, ...verifyArgs] : verifyArgs, { cwd: root, encoding: "utf8" }),
    ) as { hmacFloor: number; firstSight: number };
    const { hmacFloor, firstSight } = micro;
    const tokens = await createTokenService({ secret, accessExpire: 3600, clock: systemClock });

    // login: everything but the hash, against the bare hash at the same parameters
    const hasher = createPasswordHasher();
    const stored = await hasher.hash(password);
    // lookups only: a login also writes its refresh session (two inserts), which no cache can skip
    let queries = 0;
    const counted = await openStorage(config, { onQuery: (q) => void (/^\s*select/i.test(q) && queries++) });
    const sessions = createSessions({
      store: counted.sessionStore,
      cache: counted.cache,
      tokens,
      users: counted.users,
      revocations: { publish: counted.events.publish, size: 0 },
      clock: systemClock,
      accessExpire: 3600,
      maxRevocations: 1000,
      logger: counted.logger,
    });
    const deps = { users: counted.users, passwords: counted.passwords, sessions };
    await login(deps, { username: "bench", password });
    queries = 0;
    const [hashRate, loginRate] = await interleavedRates(
      () => hasher.verify(password, stored),
      () => login(deps, { username: "bench", password }),
      { ms: quick ? 1000 : 8000 },
    );
    // the same login with the hash taken out (a hasher that says yes at once): what login adds.
    // argon2id's 19 MiB are faulted in again when other work runs between hashes, which the
    // ratio above counts as login's cost; this one does not
    const noHash = { ...counted.passwords, verify: async () => true, needsRehash: () => false };
    const [hashRate2, restRate] = await interleavedRates(
      () => hasher.verify(password, stored),
      () => login({ ...deps, passwords: noHash }, { username: "bench", password }),
      { ms: quick ? 1000 : 4000 },
    );
    const warmQueries = queries;
    await counted.close();

    // scaling: N workers against one, on the same port, Ping over HTTP/1.1 (not pinned)
    const clusterFigure = async (workers: number) => {
      const cenv = { ...env, WORKERS: String(workers), SEARCH_PORT: String(clusterPort) };
      const child = await startServer(["--import", "tsx", "bench/cluster.ts"], cenv, "ready", undefined);
      await waitForPort(clusterPort);
      try {
        const list: number[] = [];
        await http1(`http://127.0.0.1:${clusterPort}${ping}`, "{}", undefined, quick ? 0.5 : 2);
        for (let r = 0; r < runs; r++) list.push((await http1(`http://127.0.0.1:${clusterPort}${ping}`, "{}")).rps);
        return median(list);
      } finally {
        await stop(child);
      }
    };
    const one = await clusterFigure(1);
    const many = cores > 1 ? await clusterFigure(cores) : one;

    // a throughput ratio is the median of the rounds' own ratios (each of two adjacent loads)
    const ratio = (a: string, b: string) => median(samples[a]!.map((x, r) => x.rps / samples[b]![r]!.rps));
    const goals = [
      { goal: "1. auth nearly free: Do / Ping, same server", value: ratio("bookstore, Do (Connect JSON)", "bookstore, Ping (Connect JSON)"), target: 0.95, higher: true },
      { goal: "1b. with REDIS_URL: Do / Ping (cost of Do <= 1.1 x Ping)", value: ratio("bookstore + Redis, Do (Connect JSON)", "bookstore + Redis, Ping (Connect JSON)"), target: 0.91, higher: true },
      { goal: "2. Do (Connect) / Fastify + @fastify/jwt Do", value: ratio("bookstore, Do (Connect JSON)", "Fastify 5 + @fastify/jwt, Do"), target: 1.0, higher: true },
      { goal: "3. Do (gRPC) / @grpc/grpc-js + JWT Do", value: ratio("bookstore, Do (gRPC h2c)", "@grpc/grpc-js + JWT interceptor, Do"), target: 1.0, higher: true },
      { goal: "4. first-sight verify / raw HMAC floor", value: firstSight / hmacFloor, target: 0.5, higher: true },
      { goal: "5. login cost beyond the hash (login without it / the hash)", value: hashRate2 / restRate, target: 0.1, higher: false },
      { goal: `6. ${cores} workers / (${cores} x 1 worker)`, value: many / (cores * one), target: 0.85, higher: true },
    ].map((g) => ({ ...g, pass: g.higher ? g.value >= g.target : g.value <= g.target }));

    const ceiling = figures["bare node:http, ping"]!.rps;
    const lines: string[] = [];
    lines.push(`bench: ${quick ? "quick" : "full"}, ${seconds} s per load, ${runs} rounds (figures: medians; ratios: medians of each round's ratio), ${connections} connections (HTTP/1.1), 4x12 calls in flight (gRPC)`);
    lines.push(`machine: ${cores} cores, Node ${process.version}, ${pinned ? "servers on core 0, load on core 1" : "not pinned (no taskset or one core)"}`);
    lines.push(`production mode: Redis ${prodRedis.replace(/\/\/[^@]*@/, "//")}, database ${prodDatabase ? "MySQL" : "SQLite"}`);
    lines.push("");
    lines.push("| server, same work | req/s | p50 ms | p99 ms | vs bare ping |");
    lines.push("|---|---:|---:|---:|---:|");
    for (const [name, fig] of Object.entries(figures)) {
      lines.push(`| ${name} | ${Math.round(fig.rps)} | ${fig.p50ms.toFixed(2)} | ${fig.p99ms.toFixed(2)} | ${(fig.rps / ceiling).toFixed(2)} |`);
    }
    lines.push("");
    lines.push(`token verification, ops/s on one core: raw HMAC floor ${Math.round(hmacFloor)}, bookstore first sight ${Math.round(firstSight)}`);
    lines.push(`login: bare argon2id verify ${hashRate.toFixed(1)}/s, full login ${loginRate.toFixed(1)}/s (1 - ratio ${(1 - loginRate / hashRate).toFixed(2)}), login without the hash ${restRate.toFixed(0)}/s, database lookups with a warm cache: ${warmQueries}`);
    lines.push(`workers (Ping, HTTP/1.1, unpinned): 1 worker ${Math.round(one)} req/s, ${cores} workers ${Math.round(many)} req/s`);
    lines.push("");
    lines.push("| goal | measured | target | |");
    lines.push("|---|---:|---:|---|");
    for (const g of goals) lines.push(`| ${g.goal} | ${g.value.toFixed(2)} | ${g.higher ? ">=" : "<="} ${g.target} | ${g.pass ? "pass" : "FAIL"} |`);
    console.log(lines.join("\n"));

    const result = { date: new Date().toISOString(), quick, seconds, runs, cores, pinned, node: process.version, figures, rounds: samples, hmacFloor, firstSight, hashRate, loginRate, restRate, warmQueries, workers: { one, many, count: cores }, goals };
    const out = values.out ?? (quick ? join(dir, "result.json") : join(root, "bench", "results", `${result.date.replace(/[:.]/g, "-")}.json`));
    mkdirSync(resolve(out, ".."), { recursive: true });
    writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
    console.log(`\nresults: ${out}`);
  } finally {
    await storage.close();
    await Promise.all(children.map(stop));
    if (values.out === undefined || !values.out.startsWith(dir)) rmSync(dir, { recursive: true, force: true });
  }
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/healthz`);
      return;
    } catch {
      await sleep(50);
    }
  }
  throw new Error(`nothing answered on port ${port}`);
}

main().then(
  () => process.exit(0),
  async (err) => {
    console.error(`bench: ${(err as Error).message}`);
    await Promise.all(children.map(stop));
    process.exit(1);
  },
);
