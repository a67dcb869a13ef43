// npm run soak [-- --seconds N --connections N]
//
// A mixed load against a real server process on MySQL + Redis: Login (right and wrong
// passwords), Do (valid, expired, forged and missing tokens) and Ping, over `connections`
// keep-alive HTTP/1.1 connections for `seconds`. Every answer is checked against what it must
// be. Prints the figures and exits non-zero on any 5xx, any unexpected answer, any failed
// request, an unclean shutdown, or memory growth past the bound.
import { spawn } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config.js";
import { openStorage } from "../src/service-context.js";
import { addUser } from "../src/user/manage-users.js";
import { freePort } from "./free-port.js";

const { values } = parseArgs({
  options: { seconds: { type: "string" }, connections: { type: "string" }, "growth-mib": { type: "string" } },
});
const seconds = Number(values.seconds ?? process.env.SOAK_SECONDS ?? 60);
const connections = Number(values.connections ?? 100);
const growthBoundMiB = Number(values["growth-mib"] ?? 64);
const { DATABASE_URL, REDIS_URL } = process.env;
if (!DATABASE_URL?.startsWith("mysql://") || !REDIS_URL) {
  console.error("soak: set DATABASE_URL (mysql://...) and REDIS_URL (redis://...); .ci/run shows one way to provide both");
  process.exit(2);
}

type Op = "login_ok" | "login_bad" | "do_valid" | "do_expired" | "do_forged" | "do_missing" | "ping";
const userOps: [Op, number][] = [["login_ok", 2], ["login_bad", 1]];
const searchOps: [Op, number][] = [["do_valid", 10], ["do_expired", 2.5], ["do_forged", 2.5], ["do_missing", 1], ["ping", 4]];


function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

function post(agent: http.Agent, port: number, path: string, body: unknown, authorization?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolvePost, reject) => {
    const data = JSON.stringify(body);
    const headers: http.OutgoingHttpHeaders = { "content-type": "application/json", "content-length": Buffer.byteLength(data) };
    if (authorization !== undefined) headers.authorization = authorization;
    const req = http.request({ host: "127.0.0.1", port, path, method: "POST", agent, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (text += d));
      res.on("end", () => resolvePost({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(data);
  });
}

const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
function hs256(secret: string, payload: unknown): string {
  const input = `${enc({ alg: "HS256", typ: "JWT" })}.${enc(payload)}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}

function pick(ops: [Op, number][]): Op {
  const total = ops.reduce((a, [, w]) => a + w, 0);
  let r = Math.random() * total;
  for (const [op, w] of ops) if ((r -= w) < 0) return op;
  return ops[0]![0];
}

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "bookstore-soak-"));
  const secret = randomBytes(32).toString("base64url");
  const prefix = `bookstore-soak-${randomBytes(4).toString("hex")}:`;
  const [userPort, searchPort] = [await freePort(), await freePort()];
  const configFile = join(dir, "soak.yaml");
  // the soak measures stability under load, not the brute-force limits: lift them
  writeFileSync(
    configFile,
    `DataDir: ${JSON.stringify(dir)}\nLog:\n  Level: error\nCacheRedis:\n  KeyPrefix: ${JSON.stringify(prefix)}\n` +
      `LoginLimits:\n  MaxFailuresPerUser: 100000000\n  MaxAttemptsPerAddress: 100000000\n`,
  );
  const env = { ...process.env, ACCESS_SECRET: secret, USER_PORT: String(userPort), SEARCH_PORT: String(searchPort), HOST: "127.0.0.1" };

  const username = `soak-${randomBytes(4).toString("hex")}`;
  const password = randomBytes(12).toString("base64url");
  const storage = await openStorage(loadConfig({ file: configFile, env }));
  try {
    await addUser(storage, { username, password });
  } finally {
    await storage.close();
  }

  const server = spawn(process.execPath, [resolve("bin/bookstore.js"), "serve", "-f", configFile], { env, stdio: ["ignore", "ignore", "pipe"] });
  let serverErr = "";
  server.stderr.on("data", (d) => (serverErr += d));
  const exited = new Promise<number | null>((r) => server.on("exit", (code) => r(code)));
  const probe = new http.Agent({ keepAlive: false });
  for (let i = 0; ; i++) {
    try {
      await post(probe, searchPort, "/search.v1.SearchService/Ping", {});
      break;
    } catch {
      if (i > 200) throw new Error(`server did not start: ${serverErr}`);
      await sleep(100);
    }
  }
  const rssStart = rssMiB(server.pid!);

  const login = await post(probe, userPort, "/user.v1.UserService/Login", { username, password });
  const valid = (JSON.parse(login.body) as { accessToken: string }).accessToken;
  const now = Math.floor(Date.now() / 1000);
  const expired = hs256(secret, { userId: 1, iat: now - 7200, exp: now - 3600 });
  const forged = hs256(randomBytes(32).toString("base64url"), { userId: 1, iat: now, exp: now + 3600 });

  const stats = new Map<Op, Map<string, number>>();
  let total = 0;
  let fiveXX = 0;
  let failed = 0;
  const unexpected: string[] = [];
  const count = (op: Op, outcome: string) => {
    const m = stats.get(op) ?? new Map<string, number>();
    m.set(outcome, (m.get(outcome) ?? 0) + 1);
    stats.set(op, m);
  };
  const expect = (op: Op, status: number, body: string): boolean => {
    switch (op) {
      case "login_ok":
        return status === 200 && body.includes('"accessToken":"ey');
      case "do_valid":
        return status === 200 && body === '{"name":"go-zero","count":"100"}';
      case "ping":
        return status === 200 && body === "{}";
      case "login_bad":
        return status === 401 && body === '{"code":"unauthenticated","message":"invalid username or password"}';
      default:
        // the refusal's ErrorInfo detail follows the message
        return status === 401 && body.startsWith('{"code":"unauthenticated","message":"invalid or missing access token","details":[{"type":"google.rpc.ErrorInfo"');
    }
  };
  const run = async (op: Op, agent: http.Agent) => {
    let res: { status: number; body: string };
    try {
      switch (op) {
        case "login_ok":
          res = await post(agent, userPort, "/user.v1.UserService/Login", { username, password });
          break;
        case "login_bad":
          res = await post(agent, userPort, "/user.v1.UserService/Login", { username, password: "wrong-password" });
          break;
        case "ping":
          res = await post(agent, searchPort, "/search.v1.SearchService/Ping", {});
          break;
        default: {
          const token = op === "do_valid" ? valid : op === "do_expired" ? expired : op === "do_forged" ? forged : undefined;
          res = await post(agent, searchPort, "/search.v1.SearchService/Do", { name: "go-zero" }, token);
        }
      }
    } catch (err) {
      failed++;
      count(op, `failed:${(err as NodeJS.ErrnoException).code ?? "error"}`);
      return;
    }
    total++;
    if (res.status >= 500) fiveXX++;
    let code = String(res.status);
    try {
      code = (JSON.parse(res.body) as { code?: string }).code ?? (res.status === 200 ? "ok" : code);
    } catch {
      // not JSON: keep the status
    }
    count(op, code);
    if (!expect(op, res.status, res.body) && unexpected.length < 20) unexpected.push(`${op}: ${res.status} ${res.body.slice(0, 100)}`);
    else if (!expect(op, res.status, res.body)) unexpected.push("");
  };

  const started = performance.now();
  const deadline = started + seconds * 1000;
  const warmAt = started + Math.min(10_000, (seconds * 1000) / 5);
  let rssWarm = NaN;
  let rssPeak = rssStart;
  const sampler = setInterval(() => {
    const rss = rssMiB(server.pid!);
    rssPeak = Math.max(rssPeak, rss);
    if (Number.isNaN(rssWarm) && performance.now() >= warmAt) rssWarm = rss;
  }, 500);
  const userWorkers = Math.max(1, Math.round(connections / 5));
  const workers = Array.from({ length: connections }, async (_, i) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const ops = i < userWorkers ? userOps : searchOps;
    while (performance.now() < deadline) await run(pick(ops), agent);
    agent.destroy();
  });
  await Promise.all(workers);
  const elapsed = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const rssEnd = rssMiB(server.pid!);
  if (Number.isNaN(rssWarm)) rssWarm = rssStart;

  server.kill("SIGTERM");
  const exitCode = await exited;
  rmSync(dir, { recursive: true, force: true });

  const growth = rssEnd - rssWarm;
  console.log(`soak: ${seconds} s, ${connections} connections, MySQL + Redis`);
  console.log(`requests: ${total} (${Math.round(total / elapsed)}/s), failed requests: ${failed}`);
  for (const [op, outcomes] of [...stats].sort()) {
    console.log(`  ${op.padEnd(11)} ${[...outcomes].map(([k, v]) => `${k}=${v}`).join(" ")}`);
  }
  console.log(`5xx: ${fiveXX}`);
  console.log(`unexpected results: ${unexpected.length}${unexpected.length ? "\n  " + unexpected.filter(Boolean).join("\n  ") : ""}`);
  console.log(
    `server RSS MiB: start ${rssStart.toFixed(1)}, after warm-up ${rssWarm.toFixed(1)}, end ${rssEnd.toFixed(1)}, peak ${rssPeak.toFixed(1)}; growth after warm-up ${growth.toFixed(1)} (bound ${growthBoundMiB})`,
  );
  console.log(`server exit on SIGTERM: ${exitCode}`);
  const violations = [
    fiveXX > 0 && "5xx responses",
    unexpected.length > 0 && "unexpected results",
    failed > 0 && "failed requests",
    growth > growthBoundMiB && "memory growth past the bound",
    exitCode !== 0 && "unclean shutdown",
  ].filter(Boolean);
  console.log(violations.length === 0 ? "soak: PASS" : `soak: FAIL (${violations.join(", ")})`);
  return violations.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`soak: ${(err as Error).message}`);
    process.exit(2);
  },
);
