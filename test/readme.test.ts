import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { startTestApp, tempDir, testConfig, testSecret } from "./harness.js";

/** The shell blocks of the README that follow a `<!-- walkthrough -->` marker, in order. */
function walkthrough(): string {
  const readme = readFileSync("README.md", "utf8");
  const blocks = [...readme.matchAll(/<!-- walkthrough -->\n```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.ok(blocks.length >= 2, "README has its walk-through blocks");
  return blocks.join("\n");
}

const dir = tempDir();
const secret = testSecret();
const dataSource = `sqlite:${join(dir.path, "readme.db")}`;
const config = testConfig(dir.path, { accessSecret: secret, dataSource });
let app: Awaited<ReturnType<typeof startTestApp>>;
before(async () => (app = await startTestApp(config)));
after(async () => {
  await app.close();
  dir.remove();
});

test("the README walk-through works as typed", async () => {
  const script = walkthrough()
    .replaceAll("localhost:8888", `127.0.0.1:${app.ports.user}`)
    .replaceAll("localhost:8889", `127.0.0.1:${app.ports.search}`);
  const { stdout } = await promisify(execFile)("bash", ["-euo", "pipefail", "-c", script], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: dataSource, ACCESS_SECRET: secret },
  });
  const lines = stdout.split("\n");
  assert.match(stdout, /^added user alice with id 1$/m);
  assert.match(stdout, /^\{"id":"1","name":"Alice","gender":"female","accessToken":"eyJ[^"]+","accessExpire":"\d+","refreshAfter":"\d+","refreshToken":"eyJ[^"]+","refreshExpire":"\d+"\}/m);
  assert.ok(lines.includes("401"), "Do without a token is 401");
  const missing = lines.map((l) => (l.startsWith('{"code":"unauthenticated"') ? JSON.parse(l) : undefined)).find(Boolean);
  assert.equal(missing?.details?.[0]?.debug?.reason, "TOKEN_MISSING", "the refusal carries its reason");
  assert.ok(lines.includes('www-authenticate: Bearer realm="bookstore", error="invalid_token"'), "a bad token's challenge");
  assert.match(stdout, /^\{"code":"invalid_argument","message":"name: must be at least 1 characters \[string\.min_len\]","details":\[\{"type":"buf\.validate\.Violations"/m, "a broken field rule");
  assert.ok(lines.includes('{"name":"go-zero","count":"100"}'), "Do with the token finds the book");
  assert.ok(lines.includes("{}"), "Ping answers");
  assert.ok(lines.includes("refresh 200"), "a refresh token buys a new pair");
  assert.ok(lines.includes("replay 401"), "the same refresh token again is refused");
  assert.ok(lines.includes("exit 128 = unauthenticated (16) x 8"), "buf curl without a token: unauthenticated");
  assert.match(stdout, /"accessToken": "eyJ/, "buf curl logs in over gRPC");
  assert.match(stdout, /"count": "100"/, "buf curl Do with the token over gRPC");
});

test("the README's TypeScript client works as typed (after the walk-through added alice)", async () => {
  const blocks = [...readFileSync("README.md", "utf8").matchAll(/<!-- typescript -->\n```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.equal(blocks.length, 1, "README has its TypeScript client");
  // beside README.md, where its ./src/gen imports point
  const file = `readme-client-${process.pid}.ts`;
  writeFileSync(
    file,
    blocks[0]!.replaceAll("localhost:8888", `127.0.0.1:${app.ports.user}`).replaceAll("localhost:8889", `127.0.0.1:${app.ports.search}`),
  );
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ["--import", "tsx", file]);
    assert.equal(stdout, "100n\n", stderr);
  } finally {
    rmSync(file, { force: true });
  }
});
