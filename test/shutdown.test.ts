import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
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
  // many logins of one user at once from one address: limits raised so none is refused for that
  const file = join(cwd, "bookstore.yaml");
  writeFileSync(file, "LoginLimits:\n  MaxFailuresPerUser: 1000\n  MaxAttemptsPerAddress: 100000\n  SlowdownAfter: 1000\n");
  const added = await runBookstore(["user", "add", "alice", "-f", file], { cwd, env, stdin: "alice-password\n" });
  assert.equal(added.code, 0, added.stderr);
  const server = await startServerProcess(["serve", "-f", file], { cwd, env });

  // each login costs an argon2id hash, so a batch of them is still running when the signal lands
  const url = `http://127.0.0.1:${userPort}`;
  const h1 = createClient(UserService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
  const h2 = createClient(UserService, createConnectTransport({ baseUrl: url, httpVersion: "2" }));
  let done = 0;
  let signalled = false;
  let afterSignal = 0;
  const calls = Array.from({ length: 200 }, (_, i) =>
    (i % 2 ? h1 : h2).login({ username: "alice", password: "alice-password" }).then(
      (r) => (r.accessToken ? "ok" : "empty"),
      (err: Error) => `failed: ${err.message}`,
    ).finally(() => {
      done++;
      if (signalled) afterSignal++;
    }),
  );
  while (done < 10) await sleep(5);
  signalled = true;
  const exited = server.stop();
  const results = await Promise.all(calls);
  assert.deepEqual(results.filter((r) => r !== "ok"), [], "no call in flight is lost");
  assert.ok(afterSignal > 0, "calls were still in flight when the signal landed");
  assert.equal(await exited, 0);
  assert.match(server.output(), /"msg":"shutting down"/);
  const refused = await fetch(`${url}/healthz`).then(
    () => "answered",
    () => "refused",
  );
  assert.equal(refused, "refused", "nothing listens after exit");
});
