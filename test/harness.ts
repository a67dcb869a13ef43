import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { Code, ConnectError } from "@connectrpc/connect";
import * as protoLoader from "@grpc/proto-loader";
import { sql } from "kysely";
import { pino } from "pino";
import { defaultConfig, type Config } from "../src/config.js";
import { openDatabase } from "../src/db/connect.js";
import type { Logger } from "../src/logger.js";
import { startBookstore, type Bookstore } from "../src/main.js";
import { openStorage } from "../src/service-context.js";
import { addUser } from "../src/user/manage-users.js";
import type { Clock } from "../src/clock.js";
import { writeProtoImage } from "../scripts/proto-image.js";

/** A random secret that passes the strength check. */
export function testSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** A temporary folder, removed by the returned function. */
export function tempDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), "bookstore-test-"));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** The dialects the storage suites run on: SQLite, and MySQL (skipped, saying why, unless DATABASE_URL names one). */
export function testDataSources(dir: string): { dialect: "sqlite" | "mysql"; dataSource: string; skip: string | false }[] {
  return [
    { dialect: "sqlite", dataSource: `sqlite:${join(dir, "test.db")}`, skip: false },
    { dialect: "mysql", dataSource: testMysqlUrl() ?? "", skip: needs("mysql") },
  ];
}

/** DATABASE_URL when it names a MySQL/MariaDB database (CI's does); the MySQL variants run only then. */
export function testMysqlUrl(): string | undefined {
  const url = process.env.DATABASE_URL;
  return url?.startsWith("mysql://") ? url : undefined;
}

const toEnable = { mysql: "DATABASE_URL=mysql://USER:PASS@HOST:3306/DB", redis: "REDIS_URL=redis://HOST:6379/DB" } as const;

/**
 * The `skip` option of a suite or test that needs MySQL and/or Redis: false when each is
 * configured, else the reason, naming what to set. `npm test` ends with a line summing these up.
 */
export function needs(...backends: ("mysql" | "redis")[]): string | false {
  const missing = backends.filter((b) => (b === "mysql" ? testMysqlUrl() : testRedisUrl()) === undefined);
  if (missing.length === 0) return false;
  const misnamed = missing.includes("mysql") && (process.env.DATABASE_URL ?? "") !== "" ? " (DATABASE_URL is set, but not to a mysql:// URL)" : "";
  return `needs ${missing.map((b) => toEnable[b]).join(" and ")}${misnamed}`;
}

/** Empties a MySQL test database (SQLite suites use a fresh file instead). */
export async function resetDatabase(dataSource: string): Promise<void> {
  if (!dataSource.startsWith("mysql:")) return;
  const { db, close } = openDatabase(dataSource);
  try {
    for (const table of ["user", "book", "refresh_token", "refresh_session", "auth_event", "kysely_migration", "kysely_migration_lock"]) {
      await sql`drop table if exists ${sql.table(table)}`.execute(db);
    }
  } finally {
    await close();
  }
}

/** A logger that keeps every line in memory, for asserting what is (and is not) logged. */
export function memoryLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split("\n").filter((l) => l !== ""));
      cb();
    },
  });
  return { logger: pino({ level: "debug" }, stream), lines };
}

export { manualClock } from "./manual-clock.js";

/** A test configuration: ports 0, a given or temporary SQLite database, a random secret. */
export function testConfig(
  dir: string,
  overrides: Partial<{ dataSource: string; accessSecret: string; accessExpire: number; redisUrl: string; keyPrefix: string }> = {},
): Config {
  return {
    ...defaultConfig,
    cacheRedis: {
      ...defaultConfig.cacheRedis,
      url: overrides.redisUrl ?? "",
      keyPrefix: overrides.keyPrefix ?? defaultConfig.cacheRedis.keyPrefix,
    },
    user: { port: 0 },
    search: { port: 0 },
    dataDir: join(dir, "data"),
    auth: { ...defaultConfig.auth, accessSecret: overrides.accessSecret ?? testSecret(), accessExpire: overrides.accessExpire ?? 3600 },
    database: { ...defaultConfig.database, dataSource: overrides.dataSource ?? `sqlite:${join(dir, "data", "test.db")}` },
    log: { ...defaultConfig.log, level: "silent" },
  };
}

/** Fast argon2id for tests (256 KiB, one pass); production uses OWASP's 19 MiB, two passes. */
export const testPasswordCost = { memoryKiB: 256, timeCost: 1, parallelism: 1 };

/** Adds users to the config's database, each with the password `<name>-password`. */
export async function addTestUsers(config: Config, ...names: string[]): Promise<void> {
  const storage = await openStorage(config, { passwordCost: testPasswordCost });
  try {
    for (const username of names) await addUser(storage, { username, password: `${username}-password` });
  } finally {
    await storage.close();
  }
}

let image: string | undefined;

/**
 * The schema as one descriptor set, imports included (scripts/proto-image.ts), built once per
 * test process: what proto-loader, `buf curl --schema` and other languages' tools read, since
 * proto/ imports buf/validate/validate.proto, which exists only as a descriptor.
 */
export function protoImage(): string {
  if (image === undefined) {
    const dir = mkdtempSync(join(tmpdir(), "bookstore-proto-"));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    writeProtoImage(join(dir, "proto.binpb"));
    image = join(dir, "proto.binpb");
  }
  return image;
}

/** The schema for @grpc/proto-loader users: {@link protoImage} loaded with `options`. */
export function loadProtoImage(options: protoLoader.Options = {}): protoLoader.PackageDefinition {
  return protoLoader.loadFileDescriptorSetFromBuffer(readFileSync(protoImage()), options);
}

/** Starts the whole app on loopback ports chosen by the OS. */
export async function startTestApp(
  config: Config,
  options: { logger?: Logger; clock?: Clock; only?: "user" | "search"; healthIntervalMs?: number; leanUnary?: boolean; authEventsIntervalMs?: number } = {},
): Promise<Bookstore & { userUrl: string; searchUrl: string }> {
  const app = await startBookstore(config, { ...options, passwordCost: testPasswordCost });
  return Object.assign(app, {
    userUrl: `http://127.0.0.1:${app.ports.user}`,
    searchUrl: `http://127.0.0.1:${app.ports.search}`,
  });
}

/** REDIS_URL when the environment names one (CI does); the Redis suites run only then. */
export function testRedisUrl(): string | undefined {
  const url = process.env.REDIS_URL;
  return url !== undefined && url !== "" ? url : undefined;
}

/** A key prefix of its own for one suite, so suites never see each other's keys. */
export function testKeyPrefix(): string {
  return `bookstore-test-${randomBytes(6).toString("hex")}:`;
}

/** Fails (never skips) when REDIS_URL names a Redis that does not answer. */
export async function checkRedis(url: string): Promise<void> {
  const { Redis } = await import("ioredis");
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000, retryStrategy: () => null });
  try {
    await client.connect();
    await client.ping();
  } finally {
    client.disconnect();
  }
}

/** Deletes every key under a prefix. */
export async function dropKeys(url: string, prefix: string): Promise<void> {
  const { Redis } = await import("ioredis");
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await client.connect();
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
  } finally {
    client.disconnect();
  }
}

/** Resolves to `expected` once `probe` answers it within `ms` (polling), else to its last answer. */
export async function settlesTo(ms: number, expected: string, probe: () => Promise<string>): Promise<string> {
  const deadline = Date.now() + ms;
  let last = await probe();
  while (last !== expected && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    last = await probe();
  }
  return last;
}

/** How a call ended: "ok", or its Connect code's name and any `retry-after` it carried. */
export async function callOutcome(p: Promise<unknown>): Promise<{ code: string; retryAfter?: number }> {
  try {
    await p;
    return { code: "ok" };
  } catch (err) {
    const e = ConnectError.from(err);
    const retry = e.metadata.get("retry-after");
    return { code: Code[e.code]!, retryAfter: retry === null ? undefined : Number(retry) };
  }
}

/** How a call ended: "ok", or its Connect code's name. */
export const callCode = async (p: Promise<unknown>): Promise<string> => (await callOutcome(p)).code;

/** What a finished child process said. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A child's environment: only PATH, HOME and `extra`, so none of CI's database or secret settings leak in. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...extra };
}

/** Runs `bookstore ARGS` as an operator would, in a child process with {@link childEnv} (`entry`: another build of it). */
export function runBookstore(args: string[], options: { cwd?: string; env?: Record<string, string>; stdin?: string; entry?: string } = {}): Promise<RunResult> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [resolve(options.entry ?? "bin/bookstore.js"), ...args], {
      cwd: options.cwd,
      env: childEnv(options.env),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => done({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? "");
  });
}

/** Runs `buf curl ARGS`; its exit code is the Connect code x 8 when the call fails. */
export async function bufCurl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)("node_modules/.bin/buf", ["curl", ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A `bookstore` process started by a test, with what it has printed so far. */
export interface ServerProcess {
  readonly child: ChildProcess;
  output(): string;
  /** The port each service logged as listening on (the last one, with workers). */
  ports(): { user?: number; search?: number };
  /** Waits until `pattern` matched `count` lines of output, failing after `timeoutMs`. */
  waitFor(pattern: RegExp, count?: number, timeoutMs?: number): Promise<void>;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `bookstore ARGS` (e.g. `serve`) with {@link childEnv} and waits for `ready` lines.
 * `entry` runs another build of the command (the compiled `dist/run.js`); `via` runs it through a
 * command that execs its arguments (e.g. `taskset -c 0`).
 */
export async function startServerProcess(
  args: string[],
  options: { cwd?: string; env: Record<string, string>; ready?: RegExp; readyCount?: number; entry?: string; via?: string[] },
): Promise<ServerProcess> {
  const command = [...(options.via ?? []), process.execPath, resolve(options.entry ?? "bin/bookstore.js"), ...args];
  const child = spawn(command[0]!, command.slice(1), { cwd: options.cwd, env: childEnv(options.env) });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d));
  child.stderr!.on("data", (d: Buffer) => (out += d));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  let done = false;
  void exited.then(() => (done = true));
  const lines = () => out.split("\n");
  const proc: ServerProcess = {
    child,
    output: () => out,
    ports() {
      const ports: { user?: number; search?: number } = {};
      for (const line of lines()) {
        const m = /"service":"(user|search)".*"port":(\d+).*"msg":"listening"/.exec(line);
        if (m) ports[m[1] as "user" | "search"] = Number(m[2]);
      }
      return ports;
    },
    async waitFor(pattern, count = 1, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (lines().filter((l) => pattern.test(l)).length < count) {
        if (done) throw new Error(`bookstore ${args.join(" ")} exited while waiting for ${pattern}: ${out}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}: ${out}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async stop() {
      if (!done) child.kill("SIGTERM");
      return exited;
    },
  };
  try {
    await proc.waitFor(options.ready ?? /"service":"search".*"msg":"listening"/, options.readyCount ?? 1);
  } catch (err) {
    // never leave a server running that its test will not stop
    child.kill("SIGKILL");
    throw err;
  }
  return proc;
}
