import assert from "node:assert/strict";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { openStorage } from "../src/service-context.js";
import { addUser } from "../src/user/manage-users.js";
import { memoryLogger, runBookstore, startTestApp, tempDir, testConfig, testPasswordCost } from "./harness.js";


const run = (args: string[], env: Record<string, string>, stdin = "") => runBookstore(args, { env, stdin });

describe("the typed client commands: bookstore login / search / ping", () => {
  const dir = tempDir();
  const config = testConfig(dir.path);
  let app: Awaited<ReturnType<typeof startTestApp>>;
  before(async () => {
    const storage = await openStorage(config, { passwordCost: testPasswordCost });
    await addUser(storage, { username: "alice", password: "alice-password" });
    await storage.close();
    app = await startTestApp(config);
  });
  after(async () => {
    await app.close();
    dir.remove();
  });

  for (const protocol of ["connect", "grpc", "grpcweb"]) {
    test(`--protocol ${protocol}`, async () => {
      const env = { BOOKSTORE_TOKEN_FILE: join(dir.path, `token-${protocol}`) };
      const p = ["--protocol", protocol];
      const login = await run(["login", "alice", "--url", app.userUrl, ...p], env, "alice-password\n");
      assert.equal(login.code, 0, login.stderr);
      assert.match(login.stdout, /^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/);

      const noToken = await run(["search", "go-zero", "--url", app.searchUrl, ...p], env);
      assert.equal(noToken.code, 1);
      assert.equal(noToken.stderr, "unauthenticated: invalid or missing access token\n");

      const withToken = await run(["search", "go-zero", "--token", login.stdout.trim(), "--url", app.searchUrl, ...p], env);
      assert.equal(withToken.code, 0, withToken.stderr);
      assert.deepEqual(JSON.parse(withToken.stdout), { name: "go-zero", count: "100" });

      const saved = await run(["login", "alice", "--save", "--url", app.userUrl, ...p], env, "alice-password\n");
      assert.equal(saved.stdout, `token saved to ${env.BOOKSTORE_TOKEN_FILE}\n`);
      assert.equal(statSync(env.BOOKSTORE_TOKEN_FILE).mode & 0o777, 0o600);
      const fromFile = await run(["search", "nothing", "--url", app.searchUrl, ...p], env);
      assert.deepEqual(JSON.parse(fromFile.stdout), { name: "nothing", count: "0" });

      const ping = await run(["ping", "--url", app.searchUrl, ...p], env);
      assert.deepEqual([ping.code, ping.stdout], [0, "ok\n"]);

      const wrong = await run(["login", "alice", "--url", app.userUrl, ...p], env, "wrong-password\n");
      assert.deepEqual([wrong.code, wrong.stderr], [1, "unauthenticated: invalid username or password\n"]);
    });
  }

  test("search refreshes an expired saved token once through UserService.Refresh and saves the new pair", async () => {
    // 2 s, not 1: exp is a whole second after iat, so a 1 s token refreshed late in a second had
    // only a few milliseconds left for the retried call (it failed a CI run on Node 24)
    const short = await startTestApp({ ...config, auth: { ...config.auth, accessExpire: 2, clockTolerance: 0 } });
    try {
      const env = { BOOKSTORE_TOKEN_FILE: join(dir.path, "token-refresh") };
      const saved = await run(["login", "alice", "--save", "--url", short.userUrl], env, "alice-password\n");
      assert.equal(saved.code, 0, saved.stderr);
      const first = JSON.parse(readFileSync(env.BOOKSTORE_TOKEN_FILE, "utf8")) as Record<string, string>;
      assert.deepEqual(Object.keys(first).sort(), ["accessToken", "protocol", "refreshToken", "userUrl"]);
      await new Promise((r) => setTimeout(r, 3100)); // the access token has expired
      const found = await run(["search", "go-zero", "--url", short.searchUrl], env);
      assert.equal(found.code, 0, found.stderr);
      assert.deepEqual(JSON.parse(found.stdout), { name: "go-zero", count: "100" });
      const second = JSON.parse(readFileSync(env.BOOKSTORE_TOKEN_FILE, "utf8")) as Record<string, string>;
      assert.notEqual(second.accessToken, first.accessToken);
      assert.notEqual(second.refreshToken, first.refreshToken, "the refresh token was rotated");
      assert.equal(statSync(env.BOOKSTORE_TOKEN_FILE).mode & 0o777, 0o600);
      // a file with an access token alone (no way to refresh) says so
      writeFileSync(env.BOOKSTORE_TOKEN_FILE, first.accessToken + "\n");
      const stale = await run(["search", "go-zero", "--url", short.searchUrl], env);
      assert.deepEqual([stale.code, stale.stderr], [1, "unauthenticated: the saved access token expired and no refresh token was saved: log in again\n"]);
    } finally {
      await short.close();
    }
  });

  test("usage mistakes and unreachable servers", async () => {
    const bad = await run(["search", "x", "--protocol", "carrier-pigeon"], {});
    assert.equal(bad.code, 2);
    const down = await run(["ping", "--url", "http://127.0.0.1:1"], {});
    assert.equal(down.code, 1);
    assert.match(down.stderr, /^unavailable: /);
  });
});

/** True when nothing listens on `port` at 127.0.0.1 or ::1 (where `localhost` may lead), else what was found. */
async function portFree(port: number): Promise<true | string> {
  for (const host of ["127.0.0.1", "::1"]) {
    const outcome = await new Promise<string>((resolve) => {
      const probe = createServer();
      probe.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "error"));
      probe.listen(port, host, () => probe.close(() => resolve("free")));
    });
    if (outcome === "EADDRINUSE") return `port ${port} is in use on ${host}`;
    // EADDRNOTAVAIL: no IPv6 loopback here, so localhost cannot lead there either
  }
  return true;
}

describe("the client commands' defaults: --url http://localhost:8888 for login, :8889 for search and ping, --protocol connect", () => {
  const dir = tempDir();
  after(() => dir.remove());

  test("no --url and no --protocol: login reaches 8888, search and ping 8889, all over the Connect protocol", async (t) => {
    for (const port of [8888, 8889]) {
      const free = await portFree(port);
      if (free !== true) return void t.skip(`${free}: the defaults need it free`);
    }
    const config = { ...testConfig(dir.path), user: { port: 8888 }, search: { port: 8889 } };
    const storage = await openStorage(config, { passwordCost: testPasswordCost });
    await addUser(storage, { username: "alice", password: "alice-password" });
    await storage.close();
    const { logger, lines } = memoryLogger();
    let app: Awaited<ReturnType<typeof startTestApp>>;
    try {
      app = await startTestApp(config, { logger });
    } catch (err) {
      // taken between the check and now (another test run on this machine)
      if (/already in use/.test(String(err))) return void t.skip(String(err));
      throw err;
    }
    try {
      const env = { BOOKSTORE_TOKEN_FILE: join(dir.path, "token") };
      const login = await run(["login", "alice"], env, "alice-password\n");
      assert.equal(login.code, 0, login.stderr);
      const found = await run(["search", "go-zero", "--token", login.stdout.trim()], env);
      assert.equal(found.code, 0, found.stderr);
      assert.deepEqual(JSON.parse(found.stdout), { name: "go-zero", count: "100" });
      const ping = await run(["ping"], env);
      assert.deepEqual([ping.code, ping.stdout, ping.stderr], [0, "ok\n", ""]);
    } finally {
      await app.close();
    }
    // the server's access log: which method came in, and over which protocol
    const calls = lines.map((l) => JSON.parse(l) as { msg: string; method?: string; protocol?: string }).filter((l) => l.msg === "rpc");
    assert.deepEqual(
      calls.map((c) => `${c.method} ${c.protocol}`),
      ["user.v1.UserService/Login connect", "search.v1.SearchService/Do connect", "search.v1.SearchService/Ping connect"],
    );
  });
});
