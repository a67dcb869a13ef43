import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { main } from "../../src/cli.js";

const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

async function cli(args: string[], stdin = ""): Promise<{ code: number; stdout: string; stderr: string }> {
  const input = new PassThrough();
  input.end(stdin);
  let stdout = "";
  let stderr = "";
  const out = new PassThrough().on("data", (d) => (stdout += d));
  const err = new PassThrough().on("data", (d) => (stderr += d));
  const code = await main(args, { stdin: input, stdout: out, stderr: err, env: {} });
  return { code, stdout, stderr };
}

test("bookstore token inspect decodes without verifying, from an argument or stdin", async () => {
  const now = Math.floor(Date.now() / 1000);
  const token = `${enc({ alg: "HS256", typ: "JWT" })}.${enc({ userId: 7, iat: now - 60, exp: now - 10 })}.c2ln`;
  for (const r of [await cli(["token", "inspect", token]), await cli(["token", "inspect"], `Bearer ${token}\n`)]) {
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.verified, false);
    assert.deepEqual(out.header, { alg: "HS256", typ: "JWT" });
    assert.equal(out.payload.userId, 7);
    assert.equal(out.expired, true);
    assert.match(out.times.exp, /\(10 s ago\)$/);
  }
  const bad = await cli(["token", "inspect", "a.b"]);
  assert.deepEqual([bad.code, bad.stderr], [1, "bookstore: token: expected 3 dot-separated parts, found 2\n"]);
  const dup = await cli(["token", "inspect", `${enc({ alg: "HS256" })}.${Buffer.from('{"a":1,"a":2}').toString("base64url")}.x`]);
  assert.equal(dup.stderr, "bookstore: token: the payload is not a strict JSON object\n");
});
