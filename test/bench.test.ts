import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { tempDir } from "./harness.js";

test("npm run bench -- --quick runs every load and reports every goal (no speed is asserted)", async () => {
  const dir = tempDir();
  try {
    const out = join(dir.path, "result.json");
    const env = { PATH: process.env.PATH, HOME: process.env.HOME };
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "bench/run.ts", "--quick", "--seconds", "0.5", "--out", out], { env, timeout: 240_000 });
    assert.match(stdout, /\| goal \| measured \| target \| \|/);
    const result = JSON.parse(readFileSync(out, "utf8")) as { figures: Record<string, { rps: number; p50ms: number; p99ms: number }>; goals: { goal: string; value: number }[]; memory: { rssMiB: number; heapMiB: number; readings: number }[]; costOfDo: { label: string; us: number; ratio: number }[]; paired: Record<string, { cpuRatio: number; rpsRatio: number; doCpuUs: number; pingCpuUs: number; rounds: unknown[] }> };
    assert.equal(Object.keys(result.figures).length, 17);
    assert.ok("bare node:http, Do without a token check" in result.figures, "the bytes of a Do, measured apart from any check");
    for (const name of ["bookstore + Redis, Do (Connect JSON)", "bookstore + Redis, Do (gRPC h2c)"]) assert.ok(name in result.figures, `the production mode is measured beside the embedded one: ${name}`);
    for (const peer of ["Fastify 5 + @fastify/jwt, Do", "@grpc/grpc-js + fast-jwt, Do", "connectNodeAdapter + our interceptors, Do (Connect JSON)"]) assert.ok(peer in result.figures, peer);
    for (const [name, f] of Object.entries(result.figures)) assert.ok(f.rps > 0, `${name} served requests`);
    for (const [name, f] of Object.entries(result.figures)) assert.ok(f.p99ms >= f.p50ms && f.p50ms > 0, `${name}: latency percentiles`);
    assert.equal(result.goals.length, 8);
    for (const g of result.goals) assert.ok(Number.isFinite(g.value), g.goal);
    assert.deepEqual(result.costOfDo.map((c) => c.label), ["bare node:http, its bytes alone", "bare node:http, HMAC check", "Fastify 5 + @fastify/jwt", "bookstore", "bookstore + Redis"]);
    for (const c of result.costOfDo) assert.ok(Number.isFinite(c.us) && c.ratio > 0, `what a Do adds: ${c.label}`);
    assert.match(stdout, /^what a Do adds to a Ping, µs of server time per call/m);
    // goals 1 and 1b: Do and Ping loaded at once on two copies of the server, CPU per call from /proc
    assert.deepEqual(Object.keys(result.paired), ["bookstore", "bookstore + Redis"]);
    for (const [name, p] of Object.entries(result.paired)) {
      assert.ok(p.doCpuUs > 0 && p.pingCpuUs > 0 && p.rounds.length === 1, `${name}: CPU per call read on both sides`);
      assert.equal(p.cpuRatio, p.pingCpuUs / p.doCpuUs, `${name}: the goal is the Ping/Do CPU ratio`);
    }
    assert.equal(result.goals[0]!.value, result.paired.bookstore!.cpuRatio);
    assert.equal(result.goals[1]!.value, result.paired["bookstore + Redis"]!.cpuRatio);
    assert.match(stdout, /^side by side \(two copies of the server on one core/m);
    assert.equal(result.memory.length, 3, "memory over each block of calls");
    for (const m of result.memory) assert.ok(m.readings >= 1 && m.rssMiB > m.heapMiB && m.heapMiB > 0, "the lowest of real readings");
    const svg = readFileSync(out.replace(/\.json$/, ".svg"), "utf8");
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal(svg.match(/<rect x=/g)?.length, 17, "one bar per figure");
  } finally {
    dir.remove();
  }
});
