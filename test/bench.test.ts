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
    const result = JSON.parse(readFileSync(out, "utf8")) as { figures: Record<string, { rps: number }>; goals: { goal: string; value: number }[] };
    assert.equal(Object.keys(result.figures).length, 10);
    assert.ok("bookstore + Redis, Do (Connect JSON)" in result.figures, "the production mode is measured beside the embedded one");
    for (const [name, f] of Object.entries(result.figures)) assert.ok(f.rps > 0, `${name} served requests`);
    assert.equal(result.goals.length, 7);
    for (const g of result.goals) assert.ok(Number.isFinite(g.value), g.goal);
  } finally {
    dir.remove();
  }
});
