import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { promisify } from "node:util";

// What the logger writes, decided by Log.Format (LOG_FORMAT): JSON lines for machines, pino-pretty
// for people, and `auto` telling them apart by whether the output is a terminal.

const run = promisify(execFile);
/** A program that logs one line with a token in it through createLogger, on stdout. */
const program = (format: string) =>
  `import("./src/logger.ts").then(({ createLogger }) => createLogger({ name: "bookstore", level: "info", format: "${format}" }).info({ userId: 7, token: "eyJ.secret" }, "listening"))`;

test("json and auto on a pipe write one JSON object per line, the token redacted", async () => {
  for (const format of ["json", "auto"]) {
    const { stdout } = await run(process.execPath, ["--import", "tsx", "-e", program(format)]);
    const line = JSON.parse(stdout.trim());
    assert.deepEqual([line.msg, line.userId, line.token, line.name], ["listening", 7, "[redacted]", "bookstore"], format);
  }
});

test("pretty writes a human-readable line, the token still redacted", async () => {
  const { stdout } = await run(process.execPath, ["--import", "tsx", "-e", program("pretty")]);
  assert.match(stdout, /INFO.*\(bookstore\): listening\n\s+userId: 7\n\s+token: "\[redacted\]"/);
  assert.ok(!stdout.includes("eyJ.secret"));
  assert.throws(() => JSON.parse(stdout.trim()));
});

test("auto on a terminal is pretty (util-linux script gives the program a pseudo-terminal)", { skip: !existsSync("/usr/bin/script") && "no /usr/bin/script" }, async () => {
  const command = `${process.execPath} --import tsx -e '${program("auto")}'`;
  const { stdout } = await run("/usr/bin/script", ["-qec", command, "/dev/null"]);
  // coloured on a terminal
  assert.match(stdout, /\x1b\[32mINFO/);
  assert.match(stdout.replace(/\x1b\[[0-9;]*m/g, ""), /INFO \(bookstore\): listening/);
  assert.ok(!stdout.includes('"msg":"listening"'));
});
