import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { UserService } from "../src/gen/user/v1/user_pb.js";
import { runBookstore, startServerProcess, tempDir, testSecret } from "./harness.js";
import { freePort } from "../scripts/free-port.js";

const dir = tempDir();
after(() => dir.remove());


test("SIGTERM during calls: every call in flight completes, then the process exits 0", async () => {
  const cwd = join(dir.path, "app");
  mkdirSync(cwd);
  const [userPort, searchPort] = [await freePort(), await freePort()];
  const env = { ACCESS_SECRET: testSecret(), USER_PORT: String(userPort), SEARCH_PORT: String(searchPort) };
  const added = await runBookstore(["user", "add", "alice"], { cwd, env, stdin: "alice-password\n" });
  assert.equal(added.code, 0, added.stderr);
  const server = await startServerProcess(["serve"], { cwd, env });

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
  const exited = server.stop();
  const results = await Promise.all(calls);
  assert.deepEqual(results.filter((r) => r !== "ok"), [], "no call in flight is lost");
  assert.equal(await exited, 0);
  assert.match(server.output(), /"msg":"shutting down"/);
  const refused = await fetch(`${url}/healthz`).then(
    () => "answered",
    () => "refused",
  );
  assert.equal(refused, "refused", "nothing listens after exit");
});
