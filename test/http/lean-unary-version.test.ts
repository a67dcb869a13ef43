import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { mirroredConnectVersion } from "../../src/http/lean-unary/index.js";

const require = createRequire(import.meta.url);
const installed = (name: string): string => {
  // the package root from its main entry (its exports do not expose package.json)
  let dir = dirname(require.resolve(name));
  while (!dir.endsWith(join("node_modules", ...name.split("/")))) dir = dirname(dir);
  return (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string }).version;
};

test("the lean unary path mirrors the installed connect-es: an upgrade must review src/http/lean-unary/", () => {
  for (const name of ["@connectrpc/connect", "@connectrpc/connect-node"]) {
    assert.equal(installed(name), mirroredConnectVersion, `${name} ${installed(name)} is installed; src/http/lean-unary/ mirrors ${mirroredConnectVersion}: review it against the new release's handler-factory.ts, then update mirroredConnectVersion`);
  }
});
