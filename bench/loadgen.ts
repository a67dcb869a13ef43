// The load generators: wrk (HTTP/1.1) and h2load (HTTP/2: gRPC and Connect over h2c), both C,
// so that the generator is not what saturates. They run on whatever core this process is
// pinned to (children inherit the affinity).
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

/** One load's result: throughput and latency percentiles. */
export interface Figure {
  rps: number;
  p50ms: number;
  p99ms: number;
  /** Requests answered in the counted time. */
  requests: number;
}

/** What one request of a load looks like. */
export interface LoadRequest {
  url: string;
  body: string | Uint8Array;
  headers: Record<string, string>;
}

const run = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), "bookstore-loadgen-"));
process.on("exit", () => rmSync(scratch, { recursive: true, force: true }));
let files = 0;

const has = (cmd: string) => {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};

/**
 * Makes sure wrk and h2load are on PATH, installing them from Debian's packages (as root) when
 * missing; throws saying what to install otherwise.
 */
export function ensureLoadGenerators(): void {
  const missing = [["wrk", "wrk"], ["h2load", "nghttp2-client"]].filter(([cmd]) => !has(cmd!));
  if (missing.length === 0) return;
  const packages = missing.map(([, pkg]) => pkg!);
  if (process.getuid?.() === 0 && has("apt-get")) {
    execFileSync("apt-get", ["install", "-y", "-q", ...packages], { stdio: "ignore", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    if (missing.every(([cmd]) => has(cmd!))) return;
  }
  throw new Error(`the bench needs ${missing.map(([cmd]) => cmd).join(" and ")} (Debian: apt-get install ${packages.join(" ")})`);
}

const luaString = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;

/** wrk's durations: "635.91us", "1.00ms", "2.10s". */
function wrkMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  if (!m) throw new Error(`wrk: cannot read the duration ${text}`);
  return Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2] as "us" | "ms" | "s" | "m"];
}

/** HTTP/1.1 POSTs from wrk (one thread, `connections` keep-alive connections) for `seconds`; any non-2xx or socket error throws. */
export async function wrk(req: LoadRequest, options: { connections: number; seconds: number }): Promise<Figure> {
  const script = join(scratch, `wrk-${files++}.lua`);
  const lines = [`wrk.method = "POST"`, `wrk.body = ${luaString(String(req.body))}`];
  for (const [k, v] of Object.entries(req.headers)) lines.push(`wrk.headers[${luaString(k)}] = ${luaString(v)}`);
  writeFileSync(script, lines.join("\n") + "\n");
  const { stdout } = await run("wrk", ["-t1", `-c${options.connections}`, `-d${Math.max(1, Math.round(options.seconds * 10) / 10)}s`, "--latency", "-s", script, req.url], { maxBuffer: 1 << 20 });
  rmSync(script, { force: true });
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  if (non2xx || (socketErrors && socketErrors.slice(1).some((n) => n !== "0"))) {
    throw new Error(`${req.url}: wrk saw ${non2xx?.[1] ?? 0} non-2xx answers, socket errors ${socketErrors?.[0] ?? "none"}`);
  }
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
  const requests = /(\d+) requests in/.exec(stdout);
  const p50 = /^\s+50%\s+(\S+)/m.exec(stdout);
  const p99 = /^\s+99%\s+(\S+)/m.exec(stdout);
  if (!rps || !requests || !p50 || !p99) throw new Error(`wrk: unexpected output: ${stdout}`);
  return { rps: Number(rps[1]), p50ms: wrkMs(p50[1]!), p99ms: wrkMs(p99[1]!), requests: Number(requests[1]) };
}

/**
 * HTTP/2 POSTs (h2c, prior knowledge) from h2load: `connections` connections with `streams`
 * calls in flight on each, for `seconds` (or exactly `count` requests). Any non-2xx, failed
 * or errored request throws. h2load reads HTTP statuses only: a gRPC load's grpc-status is
 * checked by the caller.
 */
export async function h2load(req: LoadRequest, options: { connections: number; streams: number; seconds?: number; count?: number }): Promise<Figure> {
  const data = join(scratch, `h2-${files++}.body`);
  const log = join(scratch, `h2-${files++}.log`);
  writeFileSync(data, req.body);
  const args = ["-t1", `-c${options.connections}`, `-m${options.streams}`, "-d", data, "--log-file", log];
  for (const [k, v] of Object.entries(req.headers)) args.push("-H", `${k}: ${v}`);
  if (options.count !== undefined) args.push(`-n${options.count}`);
  else args.push(`-D${Math.max(1, Math.round(options.seconds ?? 1))}`);
  args.push(req.url);
  const { stdout } = await run("h2load", args, { maxBuffer: 1 << 20 });
  rmSync(data, { force: true });
  const finished = /finished in ([\d.]+)(s|ms), ([\d.]+) req\/s/.exec(stdout);
  const counts = /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(stdout);
  const statuses = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(stdout);
  if (!finished || !counts || !statuses) throw new Error(`h2load: unexpected output: ${stdout}`);
  const [, , done, succeeded, failed, errored, timeout] = counts.map(Number) as number[];
  if (failed! + errored! + timeout! > 0 || statuses.slice(2).some((n) => n !== "0") || succeeded !== done || done === 0) {
    rmSync(log, { force: true });
    throw new Error(`${req.url}: h2load: ${counts[0]}; ${statuses[0]}`);
  }
  // one line per request: start (µs since epoch), status, response time (µs)
  const times = readFileSync(log, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => Number(line.split("\t")[2]) / 1000)
    .sort((a, b) => a - b);
  rmSync(log, { force: true });
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0;
  return { rps: Number(finished[3]), p50ms: at(0.5), p99ms: at(0.99), requests: done! };
}
