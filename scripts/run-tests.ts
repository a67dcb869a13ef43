// npm test [-- FILE...]
//
// node's test runner over every *.test.ts (or the files given), one file at a time, with the
// reporter node would choose, and a second reporter that notes each skipped suite or test. When
// the run is over, one line says what did not run and why (which variable or package would
// enable it), since node's own summary counts skipped tests but not the suites behind them.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

function testFiles(): string[] {
  const dirs = ["test", ...["packages", "examples"].flatMap((d) => readdirSync(join(root, d)).map((p) => join(d, p, "test")))];
  return dirs
    .flatMap((dir) => {
      try {
        return readdirSync(join(root, dir), { recursive: true, encoding: "utf8" }).map((f) => join(dir, f));
      } catch {
        return [];
      }
    })
    .filter((f) => f.endsWith(".test.ts"))
    .sort();
}

/** What the reporter writes: one skipped suite or test. */
interface Skipped {
  file: string;
  name: string;
  reason: string;
}

/** One line: each reason, how many suites and tests it kept from running, and in which files. */
function skipSummary(skipped: readonly Skipped[]): string {
  if (skipped.length === 0) return "not run: nothing, every suite and test ran";
  const byReason = new Map<string, Skipped[]>();
  for (const s of skipped) byReason.set(s.reason, [...(byReason.get(s.reason) ?? []), s]);
  const parts = [...byReason].map(([reason, items]) => {
    const files = [...new Set(items.map((i) => basename(i.file).replace(/\.test\.ts$/, "")))];
    return `${items.length} (${files.join(", ")}): ${reason}`;
  });
  return `not run: ${skipped.length} suites or tests — ${parts.join("; ")}`;
}

// node's own default: spec on a terminal (and always from Node 23 on), else TAP
const major = Number(process.versions.node.split(".")[0]);
const reporter = process.stdout.isTTY || major >= 23 ? "spec" : "tap";
const scratch = mkdtempSync(join(tmpdir(), "bookstore-tests-"));
const skips = join(scratch, "skipped.jsonl");
const files = process.argv.length > 2 ? process.argv.slice(2) : testFiles();
const child = spawn(
  process.execPath,
  [
    "--import", "tsx", "--test", "--test-concurrency=1",
    "--test-reporter", reporter, "--test-reporter-destination", "stdout",
    "--test-reporter", join(root, "test/skip-reporter.mjs"), "--test-reporter-destination", skips,
    ...files,
  ],
  // a run started from inside a test file must be a runner of its own, not that test's child
  { cwd: root, stdio: "inherit", env: { ...process.env, NODE_TEST_CONTEXT: undefined } },
);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => {
  let skipped: Skipped[] = [];
  try {
    skipped = readFileSync(skips, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Skipped);
  } catch {
    // no file: the runner stopped before any test reported
  }
  rmSync(scratch, { recursive: true, force: true });
  process.stdout.write(`${skipSummary(skipped.map((s) => ({ ...s, file: relative(root, s.file) })))}\n`);
  process.exit(code ?? (signal === null ? 1 : 128));
});
