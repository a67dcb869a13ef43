import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { UserService } from "../src/gen/user/v1/user_pb.js";
import { tempDir, testSecret } from "./harness.js";
import { freePort } from "../scripts/free-port.js";

const dir = tempDir();
after(() => dir.remove());
const bin = resolve("bin/bookstore.js");


test("SIGTERM during calls: every call in flight completes, then the process exits 0", async () => {
  const cwd = join(dir.path, "app");
  mkdirSync(cwd);
  const [userPort, searchPort] = [await freePort(), await freePort()];
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, ACCESS_SECRET: testSecret(), USER_PORT: String(userPort), SEARCH_PORT: String(searchPort) };
  await new Promise<void>((done, fail) => {
    const add = spawn(process.execPath, [bin, "user", "add", "alice"], { cwd, env });
    add.on("exit", (code) => (code === 0 ? done() : fail(new Error(`user add exited ${code}`))));
    add.stdin.end("alice-password\n");
  });
  const server = spawn(process.execPath, [bin, "serve"], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  server.stdout.on("data", (d) => (out += d));
  server.stderr.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => server.on("exit", (code) => r(code)));
  while (!out.includes('"service":"search"')) await sleep(20);

  // logins cost a full scrypt hash each (cost 15), so a batch of them is still running when the signal lands
  const url = `http://127.0.0.1:${userPort}`;
  const h1 = createClient(UserService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
  const h2 = createClient(UserService, createConnectTransport({ baseUrl: url, httpVersion: "2" }));
  const calls = Array.from({ length: 40 }, (_, i) =>
    (i % 2 ? h1 : h2).login({ username: "alice", password: "alice-password" }).then(
      (r) => (r.accessToken ? "ok" : "empty"),
      (err: Error) => `failed: ${err.message}`,
    ),
  );
  await sleep(300);
  server.kill("SIGTERM");
  const results = await Promise.all(calls);
  assert.deepEqual(results.filter((r) => r !== "ok"), [], "no call in flight is lost");
  assert.equal(await exited, 0);
  assert.match(out, /"msg":"shutting down"/);
  const refused = await fetch(`${url}/healthz`).then(
    () => "answered",
    () => "refused",
  );
  assert.equal(refused, "refused", "nothing listens after exit");
});
