// npm run mutate [-- protogate|app] [-- STRYKER_ARGS...]
//
// Mutation testing of what decides who gets in (StrykerJS, tap runner over node:test): the
// library's policy, interceptor, token syntax, strict JSON, codec, claims, keys, key ring and JWKS
// (packages/protogate/stryker.config.json), then the app's revocations, passwords, login limiter,
// tokens and sessions (stryker.config.json). Each mutant reruns only the test files that reach
// it; results are kept in mutation/stryker-incremental.json of each, so a run after a change
// tests only the mutants that change touches. Exits non-zero when a score is under its
// threshold (90%). Not part of npm test: a run from nothing takes the better part of an hour.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const scopes = { protogate: join(root, "packages/protogate"), app: root } as const;
type Scope = keyof typeof scopes;
const isScope = (s: string | undefined): s is Scope => s !== undefined && s in scopes;

const args = process.argv.slice(2);
const chosen: Scope[] = isScope(args[0]) ? [args.shift() as Scope] : ["protogate", "app"];
const stryker = join(root, "node_modules/@stryker-mutator/core/bin/stryker.js");

interface Report {
  files: Record<string, { mutants: { status: string }[] }>;
}

/** killed + timed out over all that ran or had no test (Stryker's own "mutation score"). */
function scores(report: Report): string[] {
  return Object.entries(report.files).map(([file, { mutants }]) => {
    const n = (s: string) => mutants.filter((m) => m.status === s).length;
    const detected = n("Killed") + n("Timeout");
    const valid = detected + n("Survived") + n("NoCoverage");
    return `${file}: ${((100 * detected) / valid).toFixed(1)}% (${detected}/${valid})`;
  });
}

let failed = false;
for (const scope of chosen) {
  process.stdout.write(`mutate: ${scope}\n`);
  const run = spawnSync(process.execPath, [stryker, "run", ...args], { cwd: scopes[scope], stdio: "inherit" });
  if (run.status !== 0) failed = true;
  try {
    const report = JSON.parse(readFileSync(join(scopes[scope], "reports/mutation/mutation.json"), "utf8")) as Report;
    for (const line of scores(report)) process.stdout.write(`  ${line}\n`);
  } catch {
    process.stdout.write(`  (no report for ${scope})\n`);
  }
}
process.exitCode = failed ? 1 : 0;
