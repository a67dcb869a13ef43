import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { asInOwnProject, exampleDir, quickStartFiles, quickStartStep, readmeBlocks, repoRoot, wiringLines } from "./readme-blocks.js";

// protogate's README quick start is this example: every file it shows is the example's own, and
// the packages it tells you to install are the versions this repository runs on.

const example = (path: string) => readFileSync(join(exampleDir, path), "utf8");
const rootPackage = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

test("the README's quick-start files are the example's, verbatim", () => {
  const files = quickStartFiles();
  assert.deepEqual(
    [...files.keys()].sort(),
    ["buf.gen.yaml", "buf.yaml", "proto/greeter/v1/greeter.proto", "src/issue-token.ts", "src/listen.ts", "src/server.ts"],
  );
  for (const [path, text] of files) assert.equal(text, asInOwnProject(path, example(path)), `${path} in the README is the example's`);
});

test("the README's shell steps are there, in the order they are run", () => {
  const steps = readmeBlocks().flatMap((b) => (b.attrs.step ? [b.attrs.step] : []));
  assert.deepEqual(steps, ["setup", "generate", "run", "call"]);
  assert.match(quickStartStep("generate"), /^npx buf generate$/m);
  assert.match(quickStartStep("run"), /^npx tsx src\/server\.ts$/m);
});

test("the README installs the versions this repository pins, exactly", () => {
  const pinned = { ...rootPackage.dependencies, ...rootPackage.devDependencies };
  const installs = readmeBlocks()
    .filter((b) => b.lang === "sh")
    .flatMap((b) => b.text.split("\n").filter((line) => line.startsWith("npm install ")));
  assert.ok(installs.length >= 4, "the install section and the quick start both install");
  for (const line of installs) {
    assert.match(line, /--save-exact/, `${line}: pins exact versions`);
    for (const [, name, version] of line.matchAll(/(@?[\w./-]+)@(\d[\w.-]*)/g)) {
      assert.equal(version, pinned[name!], `${name} is installed at the version of the root package.json`);
    }
  }
  const setup = quickStartStep("setup");
  for (const name of ["protogate", "@bufbuild/protobuf", "@connectrpc/connect", "@connectrpc/connect-node", "@bufbuild/buf", "@bufbuild/protoc-gen-es", "tsx"]) {
    assert.match(setup, new RegExp(` ${name.replace(/[/.]/g, "\\$&")}(@| |$)`, "m"), `the quick start installs ${name}`);
  }
  const own = JSON.parse(example("package.json")) as { dependencies: Record<string, string> };
  for (const name of ["@bufbuild/protobuf", "@connectrpc/connect", "@connectrpc/connect-node"]) {
    assert.equal(own.dependencies[name], pinned[name], `the example depends on ${name} at the root's version`);
  }
});

test("the example's README states its wiring's line count", () => {
  const readme = example("README.md");
  const server = wiringLines(example("src/server.ts"));
  const issue = wiringLines(example("src/issue-token.ts"));
  const listen = wiringLines(example("src/listen.ts"));
  assert.ok(server + issue < 40, `the wiring is well under 50 lines (${server} + ${issue})`);
  assert.match(readme, new RegExp(`\\*\\*${server} lines\\*\\* in \\[\`src/server\\.ts\`\\]`));
  assert.match(readme, new RegExp(`and ${issue} in\\s+\\[\`src/issue-token\\.ts\`\\]`));
  assert.match(readme, new RegExp(`\\(${listen} lines\\) is transport`));
});
