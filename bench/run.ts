// npm run bench [-- --quick] [--seconds N] [--runs N] [--out FILE]
//
// Side-by-side throughput and latency of this project's server and its peers on the same
// machine, in one run, reported as ratios against the performance goals. Load comes from C
// generators (wrk for HTTP/1.1, h2load for HTTP/2), pinned with this process to core 1, and
// every server to core 0 when `taskset` and two cores exist. Loads run in interleaved rounds;
// a ratio is the median of the rounds' own ratios. Do against Ping on our server (goals 1 and
// 1b) is also measured side by side: two copies of the server, one loaded with Do and the other
// with Ping at the same time, each one's CPU time per call read from /proc. Every load's
// answers are checked (a non-2xx, a socket error or a failed gRPC call invalidates the run).
// Never asserts a speed.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http2 from "node:http2";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
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
import { resultChart } from "./chart.js";
import { ensureLoadGenerators, h2load, wrk, type Figure, type LoadRequest } from "./loadgen.js";
import { interleavedRates } from "./interleave.mjs";

const { values } = parseArgs({
  options: { quick: { type: "boolean" }, seconds: { type: "string" }, runs: { type: "string" }, out: { type: "string" } },
});
const quick = values.quick === true;
const seconds = Number(values.seconds ?? (quick ? 1 : 5));
const runs = Number(values.runs ?? (quick ? 1 : 5));
const connections = 50;
const h2 = { connections: 4, streams: 12 };
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
/**
 * Starts a server process (pinned to core 0 when possible) and waits for its "ready" line or,
 * given a port, for /healthz there (its stdout, the log, then goes to /dev/null).
 */
async function startServer(args: string[], env: NodeJS.ProcessEnv, readyWhen: string | number, cpu: string | undefined = pinned ? "0" : undefined): Promise<ChildProcess> {
  const cmd = cpu !== undefined ? "taskset" : process.execPath;
  const argv = cpu !== undefined ? ["-c", cpu, process.execPath, ...args] : args;
  const stdout = typeof readyWhen === "number" ? openSync("/dev/null", "w") : "pipe";
  const child = spawn(cmd, argv, { cwd: root, env, stdio: ["ignore", stdout, "pipe"] });
  children.push(child);
  let out = "";
  await new Promise<void>((ok, fail) => {
    const onData = (d: Buffer) => {
      out += d;
      if (typeof readyWhen === "string" && out.includes(readyWhen)) ok();
    };
    if (typeof readyWhen === "number") waitForPort(readyWhen).then(ok, fail);
    child.stdout?.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => fail(new Error(`${args.join(" ")} exited ${code}: ${out}`)));
  });
  child.removeAllListeners("exit");
  child.stdout?.resume();
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
/** The CPU time (user and system, all threads) a process has used so far, in µs, from /proc. */
function cpuMicros(child: ChildProcess): number {
  const fields = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / clockTicks;
}

/** One side-by-side round of Do on one copy and Ping on the other: throughput and µs of CPU per call. */
interface PairedRound {
  doRps: number;
  pingRps: number;
  doCpuUs: number;
  pingCpuUs: number;
}

/**
 * Do on one of two copies of a server and Ping on the other, loaded at the same time (both
 * on core 0 when pinned, so they share it and a change in the machine's speed hits both), the
 * copies swapped every other round; each side's CPU time per call from /proc.
 */
async function pairedRound(copies: readonly [ChildProcess, ChildProcess], load: (copy: 0 | 1, kind: "do" | "ping", seconds: number) => Promise<Figure>, round: number, seconds: number): Promise<PairedRound> {
  const doCopy: 0 | 1 = round % 2 === 0 ? 0 : 1;
  const pingCopy: 0 | 1 = doCopy === 0 ? 1 : 0;
  const before = [cpuMicros(copies[doCopy]), cpuMicros(copies[pingCopy])];
  const [d, p] = await Promise.all([load(doCopy, "do", seconds), load(pingCopy, "ping", seconds)]);
  const after = [cpuMicros(copies[doCopy]), cpuMicros(copies[pingCopy])];
  return { doRps: d.rps, pingRps: p.rps, doCpuUs: (after[0]! - before[0]!) / d.requests, pingCpuUs: (after[1]! - before[1]!) / p.requests };
}

const doMessage = toBinary(DoRequestSchema, create(DoRequestSchema, { name: "go-zero" }));
const grpcFrame = (() => {
  const frame = Buffer.alloc(5 + doMessage.length);
  frame.writeUInt32BE(doMessage.length, 1);
  frame.set(doMessage, 5);
  return frame;
})();

/** One gRPC call over h2c; throws unless its grpc-status is 0 (h2load sees HTTP statuses only). */
async function grpcCheck(url: string, path: string, token: string): Promise<void> {
  const session = http2.connect(url);
  try {
    const status = await new Promise<string | undefined>((ok, fail) => {
      session.on("error", fail);
      const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", authorization: `Bearer ${token}` });
      let status: string | undefined;
      stream.on("response", (h) => (status = h["grpc-status"] as string | undefined));
      stream.on("trailers", (t) => (status = t["grpc-status"] as string | undefined));
      stream.on("data", () => undefined);
      stream.on("error", fail);
      stream.on("close", () => ok(status));
      stream.end(grpcFrame);
    });
    if (status !== "0") throw new Error(`${url}${path}: grpc-status ${status}`);
  } finally {
    session.close();
  }
}

/** Resident set (from /proc) and V8 heap in use (from the server's /metrics), in MiB. */
async function memoryOf(child: ChildProcess, port: number): Promise<{ rssMiB: number; heapMiB: number }> {
  const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const heap = Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(metrics)?.[1]);
  return { rssMiB: rssKiB / 1024, heapMiB: heap / 2 ** 20 };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "bookstore-bench-"));
  const secret = randomBytes(32).toString("base64url");
  const configFile = join(dir, "bench.yaml");
  const [userPort, searchPort, barePort, fastifyPort, grpcjsPort, clusterPort, prodUserPort, prodSearchPort, connectPort, connectH2Port, logUserPort, logSearchPort, bareBytesPort, ...copyPorts] = await Promise.all(Array.from({ length: 21 }, freePort));
  // the production mode: the same server with Redis (and MySQL when DATABASE_URL names one)
  const prodRedis = process.env.REDIS_URL || "redis://127.0.0.1:6379/15";
  const prodDatabase = process.env.DATABASE_URL?.startsWith("mysql://") ? process.env.DATABASE_URL : undefined;
  const yaml = (level: string, db: string, extra = "") => `DataDir: ${JSON.stringify(dir)}\nLog:\n  Level: ${level}\n${extra}Database:\n  DataSource: ${JSON.stringify(db)}\n`;
  // room for the idle-connection measurement (1000 from this one address)
  writeFileSync(configFile, yaml("warn", `sqlite:${join(dir, "bench.db")}`, "Limits:\n  MaxConnectionsPerAddress: 2048\n"));
  const env: NodeJS.ProcessEnv = { ...process.env, ACCESS_SECRET: secret, USER_PORT: String(userPort), SEARCH_PORT: String(searchPort), CONFIG_FILE: configFile };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  const password = "bench-password";
  const config = loadConfig({ file: configFile, env });
  const storage = await openStorage(config);
  await addUser(storage, { username: "bench", password });

  try {
    ensureLoadGenerators();
    // the compiled build, as the container runs it (tsx's transpiled output costs about 5%)
    execFileSync("npm", ["run", "-s", "build"], { cwd: root, stdio: "ignore" });
    const bookstore = await startServer(["dist/run.js", "serve", "-f", configFile], env, searchPort);
    // two copies of a server for the side-by-side Do/Ping (the same build, database and
    // configuration), serving nothing else, so that both have the same history
    const copyPort = (i: number) => ({ user: copyPorts[2 * i]!, search: copyPorts[2 * i + 1]! });
    const startCopies = (file: string, copyEnv: NodeJS.ProcessEnv, first: number) =>
      Promise.all([first, first + 1].map((i) => startServer(["dist/run.js", "serve", "-f", file], { ...copyEnv, USER_PORT: String(copyPort(i).user), SEARCH_PORT: String(copyPort(i).search) }, copyPort(i).search)));
    const copies = await startCopies(configFile, env, 0);
    const prodFile = join(dir, "bench-redis.yaml");
    writeFileSync(prodFile, yaml("warn", prodDatabase ?? `sqlite:${join(dir, "bench-redis.db")}`, `Workers: 1\nCacheRedis:\n  KeyPrefix: "bench-${randomBytes(4).toString("hex")}:"\n`));
    const prodEnv = { ...env, REDIS_URL: prodRedis, USER_PORT: String(prodUserPort), SEARCH_PORT: String(prodSearchPort) };
    const prodStorage = await openStorage(loadConfig({ file: prodFile, env: prodEnv }));
    await addUser(prodStorage, { username: "bench", password }).catch(() => undefined); // MySQL: kept from an earlier run
    await prodStorage.close();
    await startServer(["dist/run.js", "serve", "-f", prodFile], prodEnv, prodSearchPort);
    const prodCopies = await startCopies(prodFile, prodEnv, 2);
    // production logs every call: the embedded server again, with the access log on (info)
    const logFile = join(dir, "bench-log.yaml");
    writeFileSync(logFile, yaml("info", `sqlite:${join(dir, "bench.db")}`));
    await startServer(["dist/run.js", "serve", "-f", logFile], { ...env, USER_PORT: String(logUserPort), SEARCH_PORT: String(logSearchPort) }, logSearchPort);
    await startServer(["--import", "tsx", "bench/peers/bare.ts"], { ...env, PORT: String(barePort) }, "ready");
    await startServer(["--import", "tsx", "bench/peers/bare.ts"], { ...env, PORT: String(bareBytesPort), CHECK: "none" }, "ready");
    await startServer(["--import", "tsx", "bench/peers/fastify.ts"], { ...env, PORT: String(fastifyPort) }, "ready");
    await startServer(["--import", "tsx", "bench/peers/grpc-js.ts"], { ...env, PORT: String(grpcjsPort) }, "ready");
    await startServer(["--import", "tsx", "bench/peers/connect-node.ts"], { ...env, PORT: String(connectPort), H2_PORT: String(connectH2Port) }, "ready");

    const loginRes = await fetch(`http://127.0.0.1:${userPort}/user.v1.UserService/Login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "bench", password }),
    });
    const token = ((await loginRes.json()) as { accessToken: string }).accessToken;
    const ping = "/search.v1.SearchService/Ping";
    const doPath = "/search.v1.SearchService/Do";
    const json = { "content-type": "application/json" };
    const authed = { ...json, authorization: `Bearer ${token}` };
    const grpcHeaders = { "content-type": "application/grpc", te: "trailers", authorization: `Bearer ${token}` };
    const at = (port: number) => `http://127.0.0.1:${port}`;
    const pingOf = (port: number): LoadRequest => ({ url: at(port) + ping, body: "{}", headers: json });
    const doOf = (port: number): LoadRequest => ({ url: at(port) + doPath, body: '{"name":"go-zero"}', headers: authed });
    const grpcDoOf = (port: number): LoadRequest => ({ url: at(port) + doPath, body: grpcFrame, headers: grpcHeaders });
    const http1 = (req: LoadRequest) => (d: number) => wrk(req, { connections, seconds: d });
    const overH2 = (req: LoadRequest) => (d: number) => h2load(req, { ...h2, seconds: d });
    const grpc = (port: number) => async (d: number) => {
      await grpcCheck(at(port), doPath, token);
      const figure = await h2load(grpcDoOf(port), { ...h2, seconds: d });
      await grpcCheck(at(port), doPath, token);
      return figure;
    };
    // in this order, every pair a goal compares runs back to back in each round
    const loads: Record<string, (seconds: number) => Promise<Figure>> = {
      "bare node:http, ping": http1(pingOf(barePort)),
      "bare node:http, HMAC-verified Do": http1(doOf(barePort)),
      "bare node:http, Do without a token check": http1(doOf(bareBytesPort)),
      "Fastify 5, ping": http1(pingOf(fastifyPort)),
      "Fastify 5 + @fastify/jwt, Do": http1(doOf(fastifyPort)),
      "bookstore, Do (Connect JSON)": http1(doOf(searchPort)),
      "bookstore, Ping (Connect JSON)": http1(pingOf(searchPort)),
      "bookstore, Do, access log on (info)": http1(doOf(logSearchPort)),
      "connectNodeAdapter + our interceptors, Do (Connect JSON)": http1(doOf(connectPort)),
      "connectNodeAdapter + our interceptors, Ping (Connect JSON)": http1(pingOf(connectPort)),
      "bookstore + Redis, Do (Connect JSON)": http1(doOf(prodSearchPort)),
      "bookstore + Redis, Ping (Connect JSON)": http1(pingOf(prodSearchPort)),
      "bookstore + Redis, Do (gRPC h2c)": grpc(prodSearchPort),
      "bookstore, Do (gRPC h2c)": grpc(searchPort),
      "@grpc/grpc-js + fast-jwt, Do": grpc(grpcjsPort),
      "connectNodeAdapter + our interceptors, Do (gRPC h2c)": grpc(connectH2Port),
      "bookstore, Do (Connect JSON, h2c)": overH2(doOf(searchPort)),
    };
    const http2 = Object.keys(loads).filter((name) => /gRPC|h2c|grpc-js/.test(name));
    // the side-by-side pairs: two copies of each server, Do on one while Ping runs on the other
    const pair = (name: string, copies: readonly [ChildProcess, ChildProcess], ports: readonly [number, number]) => ({
      name,
      copies,
      load: (copy: 0 | 1, kind: "do" | "ping", d: number, n = connections) => wrk((kind === "do" ? doOf : pingOf)(ports[copy]), { connections: n, seconds: d }),
      rounds: [] as PairedRound[],
    });
    const pairs = [
      pair("bookstore", [copies[0]!, copies[1]!], [copyPort(0).search, copyPort(1).search]),
      pair("bookstore + Redis", [prodCopies[0]!, prodCopies[1]!], [copyPort(2).search, copyPort(3).search]),
    ];
    // warm-up: module loading, JIT and caches settle before anything is counted
    if (!quick) {
      for (const load of Object.values(loads)) await load(2);
      // both copies warmed alike, by Do and Ping at once (as a server serving both from the
      // start is): what V8 compiles depends on the order calls came in, and a copy that saw
      // only Do first, or only Ping, keeps code that differs by up to a tenth from the other's
      for (const p of pairs) {
        for (let i = 0; i < 4; i++) await Promise.all(([0, 1] as const).flatMap((c) => [p.load(c, "do", 2, connections / 2), p.load(c, "ping", 2, connections / 2)]));
      }
    }
    const samples: Record<string, Figure[]> = {};
    for (let r = 0; r < runs; r++) {
      for (const [name, load] of Object.entries(loads)) {
        // a server idle for a while starts slow (V8 shrinks its heap when idle): one uncounted second first
        if (!quick) await load(1);
        (samples[name] ??= []).push(await load(seconds));
      }
      for (const p of pairs) {
        if (!quick) await pairedRound(p.copies, p.load, r, 1);
        p.rounds.push(await pairedRound(p.copies, p.load, r, seconds));
      }
    }
    const figures: Record<string, Figure> = {};
    for (const [name, list] of Object.entries(samples)) {
      figures[name] = { rps: median(list.map((f) => f.rps)), p50ms: median(list.map((f) => f.p50ms)), p99ms: median(list.map((f) => f.p99ms)), requests: median(list.map((f) => f.requests)) };
    }

    // memory: the embedded server's RSS and heap over each of three millions of authenticated
    // calls (Do, Connect JSON, HTTP/1.1): the lowest of readings twice a second, since a single
    // reading lands anywhere between two collections (the heap swings by 40 MiB under this load)
    const million = quick ? 2_000 : 1_000_000;
    const memory: { calls: number; rssMiB: number; heapMiB: number; readings: number }[] = [];
    let served = 0;
    for (let m = 1; m <= 3; m++) {
      const floor = await memoryFloor(bookstore, searchPort, async () => {
        while (served < m * million) served += (await wrk(doOf(searchPort), { connections, seconds: quick ? 1 : 10 })).requests;
      });
      memory.push({ calls: served, ...floor });
    }
    const idleKiB = await idleConnectionKiB(bookstore, searchPort, quick ? 50 : 1000);

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
        await wrk(pingOf(clusterPort), { connections, seconds: quick ? 1 : 2 });
        for (let r = 0; r < runs; r++) list.push((await wrk(pingOf(clusterPort), { connections, seconds })).rps);
        return median(list);
      } finally {
        await stop(child);
      }
    };
    const one = await clusterFigure(1);
    const many = cores > 1 ? await clusterFigure(cores) : one;

    // a comparison of two loads is the median of the rounds' own (each of two adjacent loads)
    const byRound = (a: string, b: string, compare: (x: Figure, y: Figure) => number) => median(samples[a]!.map((x, r) => compare(x, samples[b]![r]!)));
    const ratio = (a: string, b: string) => byRound(a, b, (x, y) => x.rps / y.rps);
    // side by side: a Ping's CPU per call over a Do's (the Do/Ping throughput of a saturated core), and the two rates
    const sideBySide = (list: PairedRound[]) => ({
      cpuRatio: median(list.map((p) => p.pingCpuUs / p.doCpuUs)),
      rpsRatio: median(list.map((p) => p.doRps / p.pingRps)),
      doCpuUs: median(list.map((p) => p.doCpuUs)),
      pingCpuUs: median(list.map((p) => p.pingCpuUs)),
      addsUs: median(list.map((p) => p.doCpuUs - p.pingCpuUs)),
      rounds: list,
    });
    const paired: Record<string, ReturnType<typeof sideBySide>> = Object.fromEntries(pairs.map((p) => [p.name, sideBySide(p.rounds)]));
    const goals = [
      { goal: "1. auth nearly free: Do / Ping, same server (side by side, CPU per call)", value: paired.bookstore!.cpuRatio, target: 0.95, higher: true },
      { goal: "1b. the same with MySQL/Redis: Do / Ping (issue 14: >= 0.91)", value: paired["bookstore + Redis"]!.cpuRatio, target: 0.95, higher: true },
      { goal: "2. Do (Connect JSON) / Fastify + @fastify/jwt Do", value: ratio("bookstore, Do (Connect JSON)", "Fastify 5 + @fastify/jwt, Do"), target: 1.0, higher: true },
      { goal: "3. Do (gRPC) / @grpc/grpc-js + fast-jwt Do", value: ratio("bookstore, Do (gRPC h2c)", "@grpc/grpc-js + fast-jwt, Do"), target: 1.0, higher: true },
      { goal: "4. first-sight verify / raw HMAC floor", value: firstSight / hmacFloor, target: 0.5, higher: true },
      { goal: "5. login cost beyond the hash (login without it / the hash)", value: hashRate2 / restRate, target: 0.1, higher: false },
      { goal: `6. ${cores} workers / (${cores} x 1 worker)`, value: many / (cores * one), target: 0.85, higher: true },
      { goal: "7. RSS growth from the 2nd to the 3rd million calls, MiB", value: memory[2]!.rssMiB - memory[1]!.rssMiB, target: 16, higher: false },
    ].map((g) => ({ ...g, pass: g.higher ? g.value >= g.target : g.value <= g.target }));

    const ceiling = figures["bare node:http, ping"]!.rps;
    const lines: string[] = [];
    lines.push(`bench: ${quick ? "quick" : "full"}, ${seconds} s per load, ${runs} rounds (figures: medians; ratios: medians of each round's ratio); wrk, 1 thread, ${connections} connections (HTTP/1.1); h2load, ${h2.connections} connections x ${h2.streams} streams (HTTP/2)`);
    lines.push(`machine: ${cores} cores, Node ${process.version}, ${pinned ? "servers on core 0, load on core 1" : "not pinned (no taskset or one core)"}`);
    lines.push(`production mode: Redis ${prodRedis.replace(/\/\/[^@]*@/, "//")}, database ${prodDatabase ? "MySQL" : "SQLite"}`);
    lines.push("");
    lines.push("| server, same work | req/s | p50 ms | p99 ms | vs bare ping |");
    lines.push("|---|---:|---:|---:|---:|");
    for (const [name, fig] of Object.entries(figures)) {
      lines.push(`| ${name} | ${Math.round(fig.rps)} | ${fig.p50ms.toFixed(2)} | ${fig.p99ms.toFixed(2)} | ${(fig.rps / ceiling).toFixed(2)} |`);
    }
    lines.push("");
    // a server saturating its core spends about 1/rps on each call: what a Do adds to a Ping, in
    // µs of server time, compares servers whose Pings cost different amounts (a ratio does not)
    const added = (a: string, b: string) => byRound(a, b, (x, y) => 1e6 / x.rps - 1e6 / y.rps);
    const costOfDo = [
      ["bare node:http, its bytes alone", "bare node:http, Do without a token check", "bare node:http, ping"],
      ["bare node:http, HMAC check", "bare node:http, HMAC-verified Do", "bare node:http, ping"],
      ["Fastify 5 + @fastify/jwt", "Fastify 5 + @fastify/jwt, Do", "Fastify 5, ping"],
      ["bookstore", "bookstore, Do (Connect JSON)", "bookstore, Ping (Connect JSON)"],
      ["bookstore + Redis", "bookstore + Redis, Do (Connect JSON)", "bookstore + Redis, Ping (Connect JSON)"],
    ].map(([label, a, b]) => ({ label: label!, us: added(a!, b!), ratio: ratio(a!, b!) }));
    lines.push(`what a Do adds to a Ping, µs of server time per call (1/req/s, HTTP/1.1; Do / Ping): ${costOfDo.map((c) => `${c.label} ${c.us.toFixed(1)} (${c.ratio.toFixed(2)})`).join(", ")}`);
    lines.push(
      `side by side (two copies of the server on one core, Do on one and Ping on the other at once, swapped each round; CPU from /proc): ${Object.entries(paired)
        .map(([name, p]) => `${name}: Do ${p.doCpuUs.toFixed(1)} µs, Ping ${p.pingCpuUs.toFixed(1)} µs of CPU per call, a Do adds ${p.addsUs.toFixed(1)}; Ping/Do CPU ${p.cpuRatio.toFixed(3)} (rounds ${p.rounds.map((r) => (r.pingCpuUs / r.doCpuUs).toFixed(2)).join(" ")}), Do/Ping req/s ${p.rpsRatio.toFixed(3)}`)
        .join("; ")}`,
    );
    lines.push(`token verification, ops/s on one core: raw HMAC floor ${Math.round(hmacFloor)}, bookstore first sight ${Math.round(firstSight)}`);
    lines.push(`login: bare argon2id verify ${hashRate.toFixed(1)}/s, full login ${loginRate.toFixed(1)}/s (1 - ratio ${(1 - loginRate / hashRate).toFixed(2)}), login without the hash ${restRate.toFixed(0)}/s, database lookups with a warm cache: ${warmQueries}`);
    lines.push(`workers (Ping, HTTP/1.1, unpinned): 1 worker ${Math.round(one)} req/s, ${cores} workers ${Math.round(many)} req/s`);
    lines.push(`memory (embedded server, lowest reading while serving each million Do calls): ${memory.map((m, i) => `million ${i + 1} (to ${m.calls.toLocaleString("en-US")} calls) RSS ${m.rssMiB.toFixed(1)} MiB, heap ${m.heapMiB.toFixed(1)} MiB`).join("; ")}; an idle HTTP/2 connection ${idleKiB.toFixed(1)} KiB`);
    lines.push("");
    lines.push("| goal | measured | target | |");
    lines.push("|---|---:|---:|---|");
    for (const g of goals) lines.push(`| ${g.goal} | ${g.value.toFixed(2)} | ${g.higher ? ">=" : "<="} ${g.target} | ${g.pass ? "pass" : "FAIL"} |`);
    console.log(lines.join("\n"));

    const result = { date: new Date().toISOString(), quick, seconds, runs, cores, pinned, node: process.version, figures, rounds: samples, costOfDo, paired, hmacFloor, firstSight, hashRate, loginRate, restRate, warmQueries, workers: { one, many, count: cores }, memory, idleConnectionKiB: idleKiB, http2, goals };
    const out = values.out ?? (quick ? join(dir, "result.json") : join(root, "bench", "results", `${result.date.replace(/[:.]/g, "-")}.json`));
    mkdirSync(resolve(out, ".."), { recursive: true });
    writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
    const chart = resultChart({ ...result, connections, h2, http2 });
    const svg = out.replace(/\.json$/, "") + ".svg";
    writeFileSync(svg, chart);
    console.log(`\nresults: ${out}\nchart: ${svg}`);
  } finally {
    await storage.close();
    await Promise.all(children.map(stop));
    if (values.out === undefined || !values.out.startsWith(dir)) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The lowest RSS and V8 heap in use seen while `work` runs, read at once and then twice a second:
 * the floor the collector keeps coming back to, which grows only if memory is held.
 */
async function memoryFloor(child: ChildProcess, port: number, work: () => Promise<void>): Promise<{ rssMiB: number; heapMiB: number; readings: number }> {
  const floor = { rssMiB: Infinity, heapMiB: Infinity, readings: 0 };
  let done = false;
  const sampler = (async () => {
    do {
      const m = await memoryOf(child, port);
      floor.rssMiB = Math.min(floor.rssMiB, m.rssMiB);
      floor.heapMiB = Math.min(floor.heapMiB, m.heapMiB);
      floor.readings++;
      await sleep(500);
    } while (!done);
  })();
  try {
    await work();
  } finally {
    done = true;
    await sampler;
  }
  return floor;
}

/** What each of `count` idle HTTP/2 connections adds to the server's RSS, in KiB. */
async function idleConnectionKiB(child: ChildProcess, port: number, count: number): Promise<number> {
  await sleep(500);
  const before = await memoryOf(child, port);
  const sessions = Array.from({ length: count }, () => http2.connect(`http://127.0.0.1:${port}`));
  try {
    // connected, then a PING answered: the connection is set up on both sides
    await Promise.all(sessions.map((s) => new Promise<void>((ok, fail) => s.once("connect", () => ok()).once("error", fail))));
    await Promise.all(sessions.map((s) => new Promise<void>((ok, fail) => s.ping((err) => (err ? fail(err) : ok())))));
    await sleep(500);
    const after = await memoryOf(child, port);
    return ((after.rssMiB - before.rssMiB) * 1024) / count;
  } finally {
    for (const s of sessions) s.destroy();
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
