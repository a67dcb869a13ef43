import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { packageDir, quickStartFiles, quickStartStep } from "./readme-blocks.js";

// A newcomer adds protogate to a fresh connect-node service by following its README alone: in an
// empty temporary directory, with the package packed as it would be published and everything else
// from the npm registry. Each step is the README's own block, run as typed; the only changes are
// the tarball's path for `protogate` (not on the registry yet, as the README says), npm's quiet
// flags, and a free port instead of 8080.

const rootVersions = JSON.parse(readFileSync(join(packageDir, "../../package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** A fresh shell's environment: nothing npm sets for a running script, no greeter settings. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith("npm_") || k === "INIT_CWD" || k === "PORT" || k === "GREETER_SECRET" || k === "NODE_OPTIONS") continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/** Runs a command to completion within `timeoutMs`; rejects with its output when it fails. */
function run(file: string, args: string[], options: { cwd: string; timeoutMs: number }): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd: options.cwd, env: cleanEnv(), timeout: options.timeoutMs, maxBuffer: 16 << 20, killSignal: "SIGKILL" }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(" ").slice(0, 200)} failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

const bash = (script: string, cwd: string, timeoutMs: number) => run("bash", ["-euo", "pipefail", "-c", script], { cwd, timeoutMs });

/** Whether npm's configured registry answers (checked before anything is installed). */
async function registryProblem(): Promise<string | undefined> {
  try {
    await run("npm", ["ping"], { cwd: tmpdir(), timeoutMs: 20_000 });
    return undefined;
  } catch (err) {
    return (err as Error).message.split("\n").find((l) => /ERR|error|fail/i.test(l)) ?? "npm ping failed";
  }
}

/** Starts the README's run step in its own process group; resolves to the URL it prints. */
function startServer(command: string, cwd: string, timeoutMs: number): { child: ChildProcess; url: Promise<string>; output: () => string } {
  const child = spawn("bash", ["-c", `exec ${command}`], { cwd, env: cleanEnv({ PORT: "0" }), detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server printed no URL within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /listening on (http:\/\/\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code}):\n${output}`));
    });
  });
  url.catch(() => {});
  return { child, url, output: () => output };
}

/** Stops the server's whole process group (npx, tsx and node): SIGTERM, then SIGKILL after 5 s. */
async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const group = -child.pid;
  try {
    process.kill(group, "SIGTERM");
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(group, "SIGKILL");
    } catch {
      // already gone
    }
  }, 5000);
  await exited;
  clearTimeout(timer);
}

test("a newcomer adds protogate to a fresh connect-node service by following the README alone", { timeout: 150_000 }, async (t) => {
  const problem = await registryProblem();
  if (problem !== undefined) return t.skip(`the npm registry is unreachable, so nothing can be installed: ${problem}`);

  const dir = mkdtempSync(join(tmpdir(), "protogate-newcomer-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const started = Date.now();
  const lap = (what: string) => t.diagnostic(`${what}: ${((Date.now() - started) / 1000).toFixed(1)} s`);

  // the package as it would be published (`prepare` builds dist/)
  const { version } = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as { version: string };
  const packed = await run("npm", ["pack", packageDir, "--pack-destination", dir, "--json"], { cwd: dir, timeoutMs: 60_000 });
  const tarball = join(dir, `protogate-${version}.tgz`);
  assert.ok(existsSync(tarball), `npm pack wrote ${tarball}`);
  const listed = (JSON.parse(packed.slice(packed.indexOf("["))) as [{ files: { path: string }[] }])[0].files.map((f) => f.path);
  for (const f of ["README.md", "proto/protogate/v1/auth.proto", "dist/index.js", "dist/jwt/index.js", "dist/gen/protogate/v1/auth_pb.js"]) {
    assert.ok(listed.includes(f), `the tarball carries ${f}`);
  }
  lap("packed");

  const project = join(dir, "greeter");
  mkdirSync(project);
  const setup = quickStartStep("setup")
    .replace(/^(npm install .*) protogate( |$)/m, `$1 ${tarball}$2`)
    .replace(/^npm install /gm, "npm install --prefer-offline --no-audit --no-fund ");
  assert.ok(setup.includes(tarball), "the setup step installs protogate");
  await bash(setup, project, 90_000);
  lap("installed");
  const manifest = JSON.parse(readFileSync(join(project, "package.json"), "utf8")) as typeof rootVersions;
  for (const [name, v] of Object.entries({ ...manifest.dependencies, ...manifest.devDependencies })) {
    if (name !== "protogate") assert.equal(v, rootVersions.dependencies[name] ?? rootVersions.devDependencies[name], `${name} is pinned as in the repository`);
  }
  const tree = await run("npm", ["ls", "--all", "@bufbuild/protobuf"], { cwd: project, timeoutMs: 30_000 });
  assert.deepEqual(new Set([...tree.matchAll(/@bufbuild\/protobuf@(\S+)/g)].map((m) => m[1])), new Set([rootVersions.dependencies["@bufbuild/protobuf"]]), "one @bufbuild/protobuf");

  for (const [path, text] of quickStartFiles()) {
    mkdirSync(dirname(join(project, path)), { recursive: true });
    writeFileSync(join(project, path), text);
  }
  await bash(quickStartStep("generate"), project, 30_000);
  assert.ok(existsSync(join(project, "src/gen/greeter/v1/greeter_pb.ts")), "buf generated the greeter's code");
  assert.ok(!existsSync(join(project, "src/gen/protogate")), "and not a copy of protogate's options");
  lap("generated");

  const server = startServer(quickStartStep("run").trim(), project, 30_000);
  t.after(() => stopServer(server.child));
  const url = await server.url;
  lap(`serving on ${url}`);

  const call = quickStartStep("call");
  const expected = call.split("\n").filter((l) => l.startsWith("# ")).map((l) => l.slice(2));
  const printed = await bash(call.replaceAll("http://localhost:8080", url), project, 60_000);
  assert.deepEqual(printed.trimEnd().split("\n"), expected, "every command prints what the README says");
  lap("called");

  await stopServer(server.child);
  t.diagnostic(`server stopped: exit code ${server.child.exitCode}, signal ${server.child.signalCode}`);
  assert.equal(server.output().trim().split("\n").length, 1, `the server printed only its URL:\n${server.output()}`);
});
