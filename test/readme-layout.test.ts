import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

/** The README's "How it fits together" block: the source layout as the reader is told it. */
const layout = (() => {
  const readme = readFileSync("README.md", "utf8");
  const m = /## How it fits together\n\n```\n([\s\S]*?)```/.exec(readme);
  assert.ok(m, "the README has a How it fits together block");
  return m[1]!;
})();

test("the README's layout names every directory and top-level file of src/, and only paths that exist", () => {
  const named = new Set([...layout.matchAll(/(?:^|[\s,(])((?:src|packages|examples|proto)\/[\w./-]*)/gm)].map((m) => m[1]!.replace(/[.,;)]+$/, "")));
  for (const path of named) {
    const base = path.split(",")[0]!.replace(/\/$/, "");
    if (base.startsWith("proto/")) continue; // "proto/user/v1, search/v1" names two
    assert.ok(existsSync(base), `the layout names ${path}, which does not exist`);
  }
  const listed = (p: string) => named.has(p) || named.has(`${p}/`);
  for (const e of readdirSync("src", { withFileTypes: true })) {
    const path = e.isDirectory() ? `src/${e.name}` : `src/${e.name}`;
    if (!e.isDirectory() && !e.name.endsWith(".ts")) continue;
    assert.ok(listed(path), `${path} is not in the README's layout`);
  }
});
