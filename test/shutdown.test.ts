import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import http2 from "node:http2";
import { join } from "node:path";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { UserService } from "../src/gen/user/v1/user_pb.js";
import { runBookstore, startServerProcess, tempDir, testSecret } from "./harness.js";
import { holdHttp1, holdHttp2, http1Responses } from "./held-calls.js";
import { freePort } from "../scripts/free-port.js";

const dir = tempDir();
after(() => dir.remove());


test("SIGTERM while 40 logins are in flight over HTTP/1.1 and HTTP/2, and a batch of 200 is running: every call completes, then exit 0", async () => {
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
  const url = `http://127.0.0.1:${userPort}`;

  // 40 logins the server provably has at the signal (test/held-calls.ts): 20 over HTTP/1.1, 20 on one HTTP/2 session
  const path = "/user.v1.UserService/Login";
  const body = JSON.stringify({ username: "alice", password: "alice-password" });
  const session = http2.connect(url);
  session.on("error", () => undefined);
  const held1 = await Promise.all(Array.from({ length: 20 }, () => holdHttp1(userPort, path, body)));
  const held2 = await Promise.all(Array.from({ length: 20 }, () => holdHttp2(session, path, body)));

  // and a batch through the generated client, each login costing an argon2id hash, racing the signal
  const h1 = createClient(UserService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
  const h2 = createClient(UserService, createConnectTransport({ baseUrl: url, httpVersion: "2" }));
  let done = 0;
  const calls = Array.from({ length: 200 }, (_, i) =>
    (i % 2 ? h1 : h2).login({ username: "alice", password: "alice-password" }).then(
      (r) => (r.accessToken ? "ok" : "empty"),
      (err: Error) => `failed: ${err.message}`,
    ).finally(() => done++),
  );
  while (done < 10) await sleep(5);
  const exited = server.stop();
  await server.waitFor(/"signal":"SIGTERM".*"msg":"shutting down"/);
  for (const h of held1) h.sendBody();
  const answers2 = await Promise.all(held2.map((h) => h.finish()));
  await Promise.all(held1.map((h) => h.closed));
  session.close();
  const results = await Promise.all(calls);
  assert.deepEqual(results.filter((r) => r !== "ok"), [], "no call of the batch is lost");
  const answers1 = held1.map((h) => http1Responses(h.text())[0]);
  for (const a of [...answers1, ...answers2]) {
    assert.equal(a?.status, 200, a?.body);
    assert.match(JSON.parse(a.body).accessToken, /^eyJ/);
  }
  assert.equal(await exited, 0);
  // the server's own account (its access log writes a line as each call ends): at least the 40
  // held logins were answered after it began shutting down, and nothing failed
  const log = server.output().split("\n");
  const shuttingDown = log.findIndex((l) => /"signal":"SIGTERM".*"msg":"shutting down"/.test(l));
  assert.ok(shuttingDown > 0, server.output());
  const answeredAfter = log.slice(shuttingDown).filter((l) => /"method":"user\.v1\.UserService\/Login".*"code":"ok".*"msg":"rpc"/.test(l));
  assert.ok(answeredAfter.length >= 40, `${answeredAfter.length} logins answered after the signal`);
  assert.deepEqual(log.slice(shuttingDown).filter((l) => /"msg":"rpc"/.test(l) && !/"code":"ok"/.test(l)), [], "none failed");
  assert.match(log.at(-2)!, /"signal":"SIGTERM".*"msg":"stopped"/, "the last line");
  const refused = await fetch(`${url}/healthz`).then(
    () => "answered",
    () => "refused",
  );
  assert.equal(refused, "refused", "nothing listens after exit");
});
