import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { runBookstore, startServerProcess, tempDir, testSecret } from "./harness.js";
import { freePort } from "../scripts/free-port.js";

const dir = tempDir();
after(() => dir.remove());


const run = (args: string[], options: { cwd: string; env?: Record<string, string>; stdin?: string }) => runBookstore(args, options);

/** Starts `bookstore serve ...` and resolves once its one service logs "listening". */
const serve = (args: string[], options: { cwd: string; env: Record<string, string> }) =>
  startServerProcess(["serve", ...args], { ...options, ready: /"msg":"listening"/ });

async function post(url: string, body: unknown, token?: string): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = token;
  const res = await fetch(url, { method: "POST", headers, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

describe("bookstore command", () => {
  const cwd = join(dir.path, "app");

  test("user add reads the password from stdin; errors are one line, non-zero, nothing half-written", async () => {
    const { mkdirSync } = await import("node:fs");
    mkdirSync(cwd, { recursive: true });
    const ok = await run(["user", "add", "alice", "--name", "Alice", "--gender", "female"], { cwd, stdin: "alice-password-1\n" });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^added user alice with id 1\n$/);

    const dup = await run(["user", "add", "alice"], { cwd, stdin: "another-password\n" });
    assert.equal(dup.code, 1);
    assert.equal(dup.stderr, "bookstore: user alice already exists\n");

    const short = await run(["user", "add", "bob"], { cwd, stdin: "short\n" });
    assert.equal(short.code, 1);
    assert.equal(short.stderr, "bookstore: password: must be at least 8 characters\n");

    // the rules of LoginRequest (user.proto), so no account is made that Login would refuse
    const long = await run(["user", "add", "b".repeat(65)], { cwd, stdin: "bob-password\n" });
    assert.equal(long.code, 1);
    assert.equal(long.stderr, "bookstore: username: must be at most 64 characters [string.max_len]\n");
    const control = await run(["user", "del", "bob\u0007"], { cwd });
    assert.equal(control.code, 1);
    assert.match(control.stderr, /^bookstore: username: does not match regex pattern .* \[string\.pattern\]\n$/);

    const none = await run(["user", "add", "bob"], { cwd, stdin: "" });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^bookstore: password: expected one line on standard input\n$/);

    const usage = await run(["user", "add"], { cwd });
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /^bookstore: wrong number of arguments\nusage:/);

    const noCache = await run(["user", "passwd", "alice"], { cwd, env: { REDIS_URL: "redis://127.0.0.1:1/0" }, stdin: "changed-password\n" });
    assert.equal(noCache.code, 1);
    assert.match(noCache.stderr, /^bookstore: the cache cannot be reached, so nothing was changed\n$/m);

    const migrate = await run(["migrate"], { cwd });
    assert.equal(migrate.code, 0, migrate.stderr);
    assert.equal(migrate.stdout, "database is up to date\n");

    const roles = await run(["user", "add", "bob", "--gender", "male", "--roles", "admin,reader"], { cwd, stdin: "bob-password-1\n" });
    assert.equal(roles.code, 0, roles.stderr);
    const list = await run(["user", "list"], { cwd });
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stdout, "1\talice\tAlice\tfemale\t-\n2\tbob\tbob\tmale\tadmin,reader\n", "no hashes, no passwords");
    const removed = await run(["user", "del", "bob"], { cwd });
    assert.equal(removed.code, 0, removed.stderr);
  });

  test("refuses to start on a weak secret, a bad URL or a taken port, in one line without secrets", async () => {
    const weak = await run(["serve"], { cwd, env: { ACCESS_SECRET: "secret" } });
    assert.equal(weak.code, 1);
    assert.equal(weak.stderr, "bookstore: Auth.AccessSecret (ACCESS_SECRET) is 6 bytes; at least 32 are required\n");

    const url = await run(["serve"], { cwd, env: { DATABASE_URL: "mysql://root:hunter2@127.0.0.1:1/db", ACCESS_SECRET: testSecret() } });
    assert.equal(url.code, 1);
    assert.equal(url.stderr.split("\n").length, 2);
    assert.equal(url.stderr, "bookstore: Database.DataSource (DATABASE_URL): cannot reach the database at 127.0.0.1:1 (ECONNREFUSED)\n");

    const redis = await run(["serve"], { cwd, env: { REDIS_URL: "redis://:hunter2@", ACCESS_SECRET: testSecret() } });
    assert.equal(redis.code, 1);
    assert.equal(redis.stderr, "bookstore: config: REDIS_URL is not a valid URL\n");

    const scheme = await run(["serve"], { cwd, env: { REDIS_URL: "http://user:hunter2@cache:6379" } });
    assert.equal(scheme.code, 1);
    assert.equal(scheme.stderr, "bookstore: config: REDIS_URL must use redis:// or rediss://\n");

    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = String((blocker.address() as { port: number }).port);
    const taken = await run(["serve", "--only", "user"], { cwd, env: { USER_PORT: port } });
    blocker.close();
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, new RegExp(`^bookstore: User\\.Port \\(USER_PORT\\): address 127\\.0\\.0\\.1:${port} is already in use\\n$`));
  });

  test("npm start's default: two processes (--only user, --only search) share the generated secret", async () => {
    const [userPort, searchPort] = [await freePort(), await freePort()];
    const env = { USER_PORT: String(userPort), SEARCH_PORT: String(searchPort) };
    const users = await serve(["--only", "user"], { cwd, env });
    const search = await serve(["--only", "search"], { cwd, env });
    try {
      assert.equal(statSync(join(cwd, "data", "access-secret")).mode & 0o777, 0o600);
      const login = await post(`http://127.0.0.1:${userPort}/user.v1.UserService/Login`, { username: "alice", password: "alice-password-1" });
      assert.equal(login.status, 200);
      assert.equal(login.body.name, "Alice");
      const denied = await post(`http://127.0.0.1:${searchPort}/search.v1.SearchService/Do`, { name: "go-zero" });
      assert.equal(denied.status, 401);
      const found = await post(`http://127.0.0.1:${searchPort}/search.v1.SearchService/Do`, { name: "go-zero" }, login.body.accessToken);
      assert.deepEqual(found.body, { name: "go-zero", count: "100" });
      const ping = await post(`http://127.0.0.1:${searchPort}/search.v1.SearchService/Ping`, {});
      assert.equal(ping.status, 200);
    } finally {
      assert.equal(await users.stop(), 0, "SIGTERM exits 0");
      assert.equal(await search.stop(), 0, "SIGTERM exits 0");
    }
    const log = users.output() + search.output();
    assert.match(log, /"msg":"shutting down"/);
    // each process's last line says it is done
    for (const out of [users.output(), search.output()]) assert.match(out.trimEnd().split("\n").at(-1)!, /"signal":"SIGTERM".*"msg":"stopped"/);
    assert.ok(!log.includes("alice-password-1"));
  });

  test("a token from one secret is refused by a process with another", async () => {
    const [userPort, searchPort] = [await freePort(), await freePort()];
    const users = await serve(["--only", "user"], { cwd, env: { USER_PORT: String(userPort) } });
    const search = await serve(["--only", "search"], { cwd, env: { SEARCH_PORT: String(searchPort), ACCESS_SECRET: testSecret() } });
    try {
      const login = await post(`http://127.0.0.1:${userPort}/user.v1.UserService/Login`, { username: "alice", password: "alice-password-1" });
      const res = await post(`http://127.0.0.1:${searchPort}/search.v1.SearchService/Do`, { name: "go-zero" }, login.body.accessToken);
      assert.equal(res.status, 401);
    } finally {
      assert.equal(await users.stop(), 0, "SIGTERM exits 0");
      assert.equal(await search.stop(), 0, "SIGTERM exits 0");
    }
  });
});
