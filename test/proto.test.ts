import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { tempDir } from "./harness.js";

const run = promisify(execFile);
const buf = "node_modules/.bin/buf";

function files(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(root, p), readFileSync(p, "utf8"));
    }
  };
  walk(root);
  return out;
}

// build/proto.binpb, the schema buf.gen.yaml reads (scripts/proto-image.ts says why protoc makes it)
const image = async () => run(process.execPath, ["--import", "tsx", "scripts/proto-image.ts"]);

test("buf lint (STANDARD) passes on the schema, rules and all (npm run lint:proto)", async () => {
  await image();
  await run(buf, ["lint", "build/proto.binpb", "--path", "user", "--path", "search", "--path", "protogate"]);
});

test("src/gen is what buf generate makes from proto/ (regenerate with npm run generate)", async () => {
  const dir = tempDir();
  try {
    await image();
    await run(buf, ["generate", "--output", dir.path]);
    const fresh = files(join(dir.path, "src/gen"));
    const committed = files("src/gen");
    assert.deepEqual([...committed.keys()].sort(), [...fresh.keys()].sort());
    for (const [name, text] of fresh) assert.equal(committed.get(name), text, `src/gen/${name} is stale`);
  } finally {
    dir.remove();
  }
});

test("packages/protogate/src/gen is what its buf generate makes (npm run generate -w protogate)", async () => {
  const dir = tempDir();
  const pkg = "packages/protogate";
  try {
    // its buf.gen.yaml finds protoc-gen-es on PATH, as `npm run` puts it there
    const env = { ...process.env, PATH: `${join(process.cwd(), "node_modules/.bin")}:${process.env.PATH}` };
    await run(join(process.cwd(), buf), ["generate", "--output", dir.path], { cwd: pkg, env });
    const fresh = files(join(dir.path, "src/gen"));
    const committed = files(join(pkg, "src/gen"));
    assert.deepEqual([...committed.keys()].sort(), [...fresh.keys()].sort());
    for (const [name, text] of fresh) assert.equal(committed.get(name), text, `${pkg}/src/gen/${name} is stale`);
  } finally {
    dir.remove();
  }
});
