// npm run fuzz [-- --runs N --seed S]
//
// The HTTP edge's property (test/http/fuzz.test.ts) for as long as you like: generated hostile
// requests over HTTP/1.1, h2c and TLS to the lean path and to Connect's own path, each answer
// checked (no 5xx, no gRPC UNKNOWN/INTERNAL, no Connect internal/unknown, no hang, Ping after
// every case) and the two paths compared. Prints the seed first, the figures at the end, and on
// a failure the request and how to replay it; exits non-zero on a failure.
import { parseArgs } from "node:util";
import fc from "fast-check";
import { tempDir } from "../test/harness.js";
import { brokenPromise, exactlyFramed, failureReport, fuzzRequest, type FuzzRequest } from "../test/http/fuzz-requests.js";
import { startFuzzServers } from "../test/http/fuzz-servers.js";
import { isDeepStrictEqual } from "node:util";

const { values } = parseArgs({ options: { runs: { type: "string" }, seed: { type: "string" } } });
const runs = Number(values.runs ?? 10_000);
const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
process.stdout.write(`fuzz: seed ${seed}, ${runs} runs\n`);

const dir = tempDir();
const servers = await startFuzzServers(dir.path);
const figures = new Map<string, number>();
const count = (key: string) => figures.set(key, (figures.get(key) ?? 0) + 1);
let compared = 0;
const started = performance.now();

const result = await fc.check(
  fc.asyncProperty(fuzzRequest(["h1", "h2", "h1-tls", "h2-tls"]), async (req: FuzzRequest) => {
    const lean = await servers.send(req, "lean");
    const stock = await servers.send(req, "stock");
    count(`${req.transport.padEnd(6)} ${lean.kind === "answer" ? String(lean.status) : lean.kind}`);
    const broken = brokenPromise(req, lean) ?? brokenPromise(req, stock);
    if (broken !== undefined) throw new Error(`${broken}\nlean: ${JSON.stringify(lean)}\nstock: ${JSON.stringify(stock)}`);
    if (exactlyFramed(req)) {
      compared++;
      if (!isDeepStrictEqual(lean, stock)) throw new Error(`the two paths differ\nlean: ${JSON.stringify(lean)}\nstock: ${JSON.stringify(stock)}`);
    }
    if (!(await servers.pings(req, "lean")) || !(await servers.pings(req, "stock"))) throw new Error("a server stopped answering Ping");
  }),
  { seed, numRuns: runs, endOnFailure: true },
);
const seconds = (performance.now() - started) / 1000;
await servers.close();
dir.remove();

process.stdout.write(`cases: ${result.numRuns} in ${seconds.toFixed(0)} s, each sent to both paths; compared byte for byte: ${compared}\n`);
process.stdout.write("answers of the lean path, by transport and status (or what happened instead):\n");
for (const [key, n] of [...figures].sort(([a], [b]) => a.localeCompare(b))) process.stdout.write(`  ${key.padEnd(14)} ${n}\n`);
if (result.failed) {
  process.stdout.write(`fuzz: FAIL\n${failureReport(result)}\n`);
  process.exit(1);
}
process.stdout.write(`fuzz: PASS (seed ${seed})\n`);
