import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";

const src = resolve("src");

/** Every hand-written source file (not src/gen), as a path under src/. */
function sources(dir = src): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === "gen" ? [] : sources(path);
    return e.name.endsWith(".ts") ? [relative(src, path)] : [];
  });
}

/** The files under src/ that a file imports (relative imports only), as paths under src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(src, file), "utf8");
  return [...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+"(\.[^"]+)"/gms)].map((m) =>
    relative(src, resolve(src, dirname(file), m[1]!)).replace(/\.js$/, ".ts"),
  );
}

// main.ts for the bookstore's own ports, mount.ts for a host app's (Fastify, Express), cli.ts for the commands
const roots = new Set(["main.ts", "mount.ts", "cli.ts", "service-context.ts"]);

test("only the composition roots import the wiring, and nothing in src/ imports service-context.ts", () => {
  for (const file of sources()) {
    for (const target of importsOf(file)) {
      if (target.startsWith("wiring/") && !file.startsWith("wiring/")) {
        assert.ok(roots.has(file), `${file} imports ${target}`);
      }
      assert.notEqual(target, "service-context.ts", `${file} imports service-context.ts`);
    }
  }
});

test("the wiring, services, logic and stores import nothing above them", () => {
  const above = ["main.ts", "mount.ts", "cli.ts", "routes.ts", "service-context.ts", "user/user-service.ts", "search/search-service.ts"];
  for (const file of sources()) {
    const below = file.startsWith("wiring/") || file.startsWith("user/") || file.startsWith("search/");
    if (!below) continue;
    for (const target of importsOf(file)) {
      assert.ok(!above.includes(target), `${file} imports ${target}`);
      if (!file.startsWith("wiring/")) assert.ok(!target.startsWith("wiring/"), `${file} imports ${target}`);
    }
  }
});
