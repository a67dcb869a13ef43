import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { promisify } from "node:util";

// npm test (scripts/run-tests.ts) ends with one line naming what did not run and why.

const run = promisify(execFile);

test("the run's last line sums up the skipped suites and tests by reason, with their files", async () => {
  const { stdout } = await run(process.execPath, ["--import", "tsx", "scripts/run-tests.ts", "test/fixtures/skip-summary.fixture.ts"]);
  assert.equal(
    stdout.trimEnd().split("\n").at(-1),
    "not run: 3 suites or tests — 2 (skip-summary.fixture.ts): needs DATABASE_URL=mysql://USER:PASS@HOST:3306/DB; 1 (skip-summary.fixture.ts): needs Chromium",
  );
});

test("a failing run still says what it skipped, and exits non-zero", async () => {
  const failing = "test/fixtures/failing.fixture.ts";
  const err = await run(process.execPath, ["--import", "tsx", "scripts/run-tests.ts", failing, "test/fixtures/skip-summary.fixture.ts"]).then(
    () => assert.fail("the run passed"),
    (e: { code: number; stdout: string }) => e,
  );
  assert.equal(err.code, 1);
  assert.match(err.stdout.trimEnd().split("\n").at(-1)!, /^not run: 3 suites or tests/);
});

test("needs() names the variable that would enable a variant, and says when DATABASE_URL is not MySQL", async () => {
  const probe = `import("./test/harness.ts").then((h) => console.log(JSON.stringify([h.needs("mysql", "redis"), h.needs("redis")])))`;
  const env = (extra: Record<string, string>) => ({ PATH: process.env.PATH!, HOME: process.env.HOME!, ...extra });
  const none = await run(process.execPath, ["--import", "tsx", "-e", probe], { env: env({}) });
  assert.deepEqual(JSON.parse(none.stdout), ["needs DATABASE_URL=mysql://USER:PASS@HOST:3306/DB and REDIS_URL=redis://HOST:6379/DB", "needs REDIS_URL=redis://HOST:6379/DB"]);
  const sqlite = await run(process.execPath, ["--import", "tsx", "-e", probe], { env: env({ DATABASE_URL: "sqlite:x.db", REDIS_URL: "redis://127.0.0.1:6379/9" }) });
  assert.deepEqual(JSON.parse(sqlite.stdout), ["needs DATABASE_URL=mysql://USER:PASS@HOST:3306/DB (DATABASE_URL is set, but not to a mysql:// URL)", false]);
});
