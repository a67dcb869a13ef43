import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { addUser } from "../src/user/manage-users.js";
import { openStorage } from "../src/service-context.js";
import { startTestApp, tempDir, testConfig, testPasswordCost } from "./harness.js";

// The README's Python client, both blocks as typed: the code generated from the descriptor set,
// then a login, a search, and the details of two refusals read from grpc-status-details-bin.

const python = "/usr/bin/python3";
function hasGrpc(): boolean {
  try {
    execFileSync(python, ["-c", "import grpc, grpc_tools"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
// CI sets REQUIRE_PYTHON_GRPC: there missing packages fail the suite instead of skipping it
const skip = !hasGrpc() && process.env.REQUIRE_PYTHON_GRPC !== "1" && `${python} lacks grpc (apt-get install python3-grpcio python3-grpc-tools)`;

function pythonBlocks(): { sh: string; py: string } {
  const readme = readFileSync("README.md", "utf8");
  const sh = [...readme.matchAll(/<!-- python -->\n```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const py = [...readme.matchAll(/<!-- python -->\n```python\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.equal(sh.length, 1, "README has the Python section's shell block");
  assert.equal(py.length, 1, "README has the Python section's client");
  return { sh: sh[0]!, py: py[0]! };
}

describe("the README's Python client (grpcio)", { skip }, () => {
  const dir = tempDir();
  const config = testConfig(dir.path);
  let app: Awaited<ReturnType<typeof startTestApp>>;
  before(async () => {
    assert.ok(hasGrpc(), `REQUIRE_PYTHON_GRPC is set but ${python} cannot import grpc and grpc_tools`);
    const storage = await openStorage(config, { passwordCost: testPasswordCost });
    try {
      await addUser(storage, { username: "alice", password: "correct horse battery staple" });
    } finally {
      await storage.close();
    }
    app = await startTestApp(config);
  });
  after(async () => {
    await app?.close();
    dir.remove();
    rmSync("py", { recursive: true, force: true });
  });

  test("generates its code from the descriptor set, then reads both refusals' details", async () => {
    const { sh, py } = pythonBlocks();
    // in the checkout, as a reader runs it (py/ and build/ are ignored by git)
    await promisify(execFile)("bash", ["-euo", "pipefail", "-c", sh], { env: process.env });
    const script = join(dir.path, "client.py");
    writeFileSync(
      script,
      py.replaceAll("localhost:8888", `127.0.0.1:${app.ports.user}`).replaceAll("localhost:8889", `127.0.0.1:${app.ports.search}`),
    );
    const { stdout } = await promisify(execFile)(python, [script], { cwd: process.cwd() });
    assert.deepEqual(stdout.trim().split("\n"), [
      "100",
      "StatusCode.UNAUTHENTICATED TOKEN_MISSING",
      "StatusCode.INVALID_ARGUMENT name string.min_len",
    ]);
  });
});
