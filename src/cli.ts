import cluster from "node:cluster";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import { parseArgs } from "node:util";
import { inspectToken } from "./auth/inspect-token.js";
import { generateKeyFiles } from "./auth/generate-key.js";
import { PolicyError } from "protogate";
import { ConfigError, environmentUsage, loadConfig, type Config } from "./config.js";
import { AppError } from "./errors.js";
import { createLogger } from "./logger.js";
import { startTracing } from "./observability/otel.js";
import { startBookstore } from "./main.js";
import type { ServiceName } from "./routes.js";
import { openStorage } from "./wiring/storage.js";
import { failedMessage, readyMessage, runPrimary, workerCount } from "./workers.js";
import { checkFieldRules } from "./field-rules.js";
import { LoginRequestSchema } from "./gen/user/v1/user_pb.js";
import { addUser, changePassword, deleteUser, listUsers, unlockUser } from "./user/manage-users.js";
import { describeCallError, loginCommand, pingCommand, searchCommand, tokenFile } from "./client/client-commands.js";

const usage = `usage:
  bookstore serve [-f FILE] [--only user|search] [--workers N]
                                                   serve UserService (8888) and SearchService (8889)
  bookstore migrate [-f FILE]                      apply pending database migrations
  bookstore user add USERNAME [--name N] [--gender G] [--roles R1,R2] [-f FILE]
                                                   add a user; the password is read from stdin (one line)
  bookstore user passwd USERNAME [-f FILE]         change a password (stdin); takes effect at once
  bookstore user del USERNAME [-f FILE]            delete a user; their tokens are refused at once
  bookstore user unlock USERNAME [-f FILE]         clear a username's login limits
  bookstore user list [-f FILE]                    list the users: id, username, name, gender, roles
  bookstore login USERNAME [--save] [--url U] [--protocol connect|grpc|grpcweb] [--cacert FILE]
                                                   log in (password from stdin); print or save the token
  bookstore search NAME [--token T] [--url U] [--protocol P] [--cacert FILE]
                                                   call SearchService.Do (token: --token, else the saved one)
  bookstore ping [--url U] [--protocol P] [--cacert FILE]
                                                   call SearchService.Ping (--cacert: PEM CA(s) to trust)
  bookstore token inspect [TOKEN]                  decode a token (from stdin without TOKEN) WITHOUT verifying it
  bookstore keys generate --alg RS256|ES256|EdDSA [--dir keys]
                                                   write a new key pair named by a fresh kid
${environmentUsage()}
             (they override -f FILE; every key and variable: README "Configuration", etc/bookstore.schema.json)`;

/** A mistake in the command line; printed with the usage, exit code 2. */
class UsageError extends Error {
  override name = "UsageError";
}

/**
 * Runs the `bookstore` command with `argv` (without node and script) and resolves to the
 * exit code. Failures print one line to stderr; nothing is half-written.
 */
export async function main(argv: string[], io: { stdin: NodeJS.ReadableStream & { isTTY?: boolean }; stderr: NodeJS.WritableStream; stdout: NodeJS.WritableStream; env: NodeJS.ProcessEnv } = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  try {
    const [command, ...rest] = argv;
    switch (command) {
      case "serve":
        return await serve(rest, io.env);
      case "migrate":
        return await migrate(rest, io);
      case "user":
        return await user(rest, io);
      case "login":
      case "search":
      case "ping":
        return await client(command, rest, io);
      case "token":
        return await token(rest, io);
      case "keys":
        return await keys(rest, io);
      case undefined:
      case "help":
      case "-h":
      case "--help":
        io.stdout.write(usage + "\n");
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${command}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`bookstore: ${err.message}\n${usage}\n`);
      return 2;
    }
    io.stderr.write(`bookstore: ${describeError(err)}\n`);
    return 1;
  }
}

function parse(
  args: string[],
  options: Record<string, { type: "string" | "boolean"; short?: string }>,
  positionals: number,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { file: { type: "string", short: "f" }, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.split("\n")[0]!);
  }
  if (parsed.positionals.length !== positionals) {
    throw new UsageError(positionals === 0 ? `unexpected argument ${parsed.positionals[0]}` : "wrong number of arguments");
  }
  return { values: parsed.values as Record<string, string | boolean | undefined>, positionals: parsed.positionals };
}

function configFrom(file: string | undefined, env: NodeJS.ProcessEnv): Config {
  return loadConfig({ file, env });
}

async function serve(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parse(args, { only: { type: "string" }, workers: { type: "string" } }, 0);
  const only = values.only as string | undefined;
  if (only !== undefined && only !== "user" && only !== "search") throw new UsageError("--only takes user or search");
  const workersFlag = values.workers as string | undefined;
  if (workersFlag !== undefined && !/^\d{1,3}$/.test(workersFlag)) throw new UsageError("--workers takes a number (0: one per core with Redis)");
  const config = workersFlag === undefined ? configFrom(values.file as string | undefined, env) : configFrom(values.file as string | undefined, { ...env, WORKERS: workersFlag });
  // one logger for the process: the primary's, or the server's and its tracing's
  const logger = createLogger({ name: config.name, ...config.log });
  if (cluster.isPrimary) {
    const count = workerCount(config);
    if (count > 1) {
      // migrate once before the workers start: SQLite has no migration lock, so workers migrating at once race
      if (config.database.autoMigrate) await (await openStorage(config, { logger })).close();
      return runPrimary(count, logger);
    }
  }
  let app: Awaited<ReturnType<typeof startBookstore>>;
  // before anything listens, so that every call is traced (when OTEL_* asks for it)
  const stopTracing = await startTracing(env, logger);
  try {
    app = await startBookstore(config, { only: only as ServiceName | undefined, logger });
  } catch (err) {
    await stopTracing();
    if (!cluster.isWorker) throw err;
    // the primary prints the reason once for all workers; the IPC channel would keep this process alive
    process.send?.({ [failedMessage]: describeError(err) }, () => process.exit(1));
    return new Promise<number>(() => undefined);
  }
  if (cluster.isWorker) process.send?.(readyMessage);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.exit(1); // a second signal: give up waiting
      }
      stopping = true;
      app.resources.logger.info({ signal }, "shutting down");
      app.close().then(stopTracing).then(
        () => {
          app.resources.logger.info({ signal }, "stopped");
          resolve(0);
        },
        () => resolve(1),
      ).finally(() => {
        if (cluster.isWorker) process.disconnect?.();
      });
    };
    process.once("SIGTERM", stop);
    // a worker leaves Ctrl-C to the primary, which asks each worker to stop (SIGTERM)
    if (cluster.isWorker) process.on("SIGINT", () => undefined);
    else process.once("SIGINT", stop);
  });
}

async function migrate(args: string[], io: { stdout: NodeJS.WritableStream; env: NodeJS.ProcessEnv }): Promise<number> {
  const { values } = parse(args, {}, 0);
  const config = configFrom(values.file as string | undefined, io.env);
  const storage = await openStorage(config, { migrate: false, logger: stderrLogger(config) });
  try {
    const { migrateToLatest } = await import("./db/migrations.js");
    const applied = await migrateToLatest(storage.database.db, storage.database.dialect);
    io.stdout.write(applied.length === 0 ? "database is up to date\n" : `applied: ${applied.join(", ")}\n`);
    return 0;
  } finally {
    await storage.close();
  }
}

async function user(args: string[], io: { stdin: NodeJS.ReadableStream & { isTTY?: boolean }; stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream; env: NodeJS.ProcessEnv }): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== "add" && sub !== "passwd" && sub !== "del" && sub !== "unlock" && sub !== "list") {
    throw new UsageError(sub === undefined ? "user needs a subcommand: add, passwd, del, unlock or list" : `unknown user subcommand ${sub}`);
  }
  if (sub === "list") {
    const { values } = parse(rest, {}, 0);
    const config = configFrom(values.file as string | undefined, io.env);
    const storage = await openStorage(config, { logger: stderrLogger(config) });
    try {
      for (const line of await listUsers(storage)) io.stdout.write(`${line}\n`);
      return 0;
    } finally {
      await storage.close();
    }
  }
  const { values, positionals } = parse(rest, sub === "add" ? { name: { type: "string" }, gender: { type: "string" }, roles: { type: "string" } } : {}, 1);
  const username = positionals[0]!;
  const config = configFrom(values.file as string | undefined, io.env);
  const password = sub === "del" || sub === "unlock" ? "" : await readPassword(io.stdin, io.stderr);
  // the rules Login checks, so that an account made here is one Login accepts
  checkFieldRules(LoginRequestSchema, { username, password }, sub === "add" || sub === "passwd" ? ["username", "password"] : ["username"]);
  const storage = await openStorage(config, { logger: stderrLogger(config) });
  try {
    if (sub === "add") {
      const id = await addUser(storage, {
        username,
        password,
        name: values.name as string | undefined,
        gender: values.gender as string | undefined,
        roles: typeof values.roles === "string" ? values.roles.split(",").filter(Boolean) : [],
      });
      io.stdout.write(`added user ${username} with id ${id}\n`);
    } else if (sub === "passwd") {
      const { id, endedSessions } = await changePassword({ ...storage, accessExpire: config.auth.accessExpire }, { username, password });
      io.stdout.write(`changed the password of user ${username} (id ${id}); ended ${endedSessions} session(s) and every access token issued before now\n`);
    } else if (sub === "del") {
      const id = await deleteUser({ ...storage, accessExpire: config.auth.accessExpire }, username);
      io.stdout.write(`deleted user ${username} (id ${id}); their tokens are refused from now on\n`);
    } else {
      await unlockUser({ ...storage, windowSeconds: config.loginLimits.windowSeconds }, username);
      io.stdout.write(`cleared the login limits of ${username}\n`);
    }
    return 0;
  } finally {
    await storage.close();
  }
}

async function client(command: "login" | "search" | "ping", args: string[], io: { stdin: NodeJS.ReadableStream & { isTTY?: boolean }; stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream; env: NodeJS.ProcessEnv }): Promise<number> {
  const { values, positionals } = parse(
    args,
    { url: { type: "string" }, protocol: { type: "string" }, token: { type: "string" }, save: { type: "boolean" }, cacert: { type: "string" } },
    command === "ping" ? 0 : 1,
  );
  const protocol = (values.protocol as string | undefined) ?? "connect";
  if (protocol !== "connect" && protocol !== "grpc" && protocol !== "grpcweb") throw new UsageError("--protocol takes connect, grpc or grpcweb");
  const url = (values.url as string | undefined) ?? (command === "login" ? "http://localhost:8888" : "http://localhost:8889");
  const target = { url, protocol, ca: readCaFile(values.cacert as string | undefined) } as const;
  const file = tokenFile(io.env);
  try {
    if (command === "login") {
      const password = await readPassword(io.stdin, io.stderr);
      const token = await loginCommand({ ...target, username: positionals[0]!, password, save: values.save ? file : undefined });
      io.stdout.write(values.save ? `token saved to ${file}\n` : `${token}\n`);
    } else if (command === "search") {
      io.stdout.write((await searchCommand({ ...target, name: positionals[0]!, token: values.token as string | undefined, tokenFile: file })) + "\n");
    } else {
      await pingCommand(target);
      io.stdout.write("ok\n");
    }
    return 0;
  } catch (err) {
    if (err instanceof UsageError || err instanceof AppError) throw err;
    io.stderr.write(`${describeCallError(err)}\n`);
    return 1;
  }
}

/** The PEM file `--cacert` names, read; one that cannot be read is a usage error naming it. */
function readCaFile(path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`--cacert: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

async function token(args: string[], io: { stdin: NodeJS.ReadableStream & { isTTY?: boolean }; stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== "inspect") throw new UsageError(sub === undefined ? "token needs a subcommand: inspect" : `unknown token subcommand ${sub}`);
  const { positionals } = parse(rest, {}, rest.length === 0 ? 0 : 1);
  const text = positionals[0] ?? (await readPassword(io.stdin, io.stderr));
  io.stdout.write(JSON.stringify(inspectToken(text, Math.floor(Date.now() / 1000)), null, 2) + "\n");
  return 0;
}

async function keys(args: string[], io: { stdout: NodeJS.WritableStream }): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== "generate") throw new UsageError(sub === undefined ? "keys needs a subcommand: generate" : `unknown keys subcommand ${sub}`);
  const { values } = parse(rest, { alg: { type: "string" }, dir: { type: "string" } }, 0);
  const alg = values.alg;
  if (alg !== "RS256" && alg !== "ES256" && alg !== "EdDSA") throw new UsageError("--alg takes RS256, ES256 or EdDSA");
  const key = await generateKeyFiles(alg, (values.dir as string | undefined) ?? "keys");
  io.stdout.write(
    `kid: ${key.kid}\n` +
      `private key: ${key.privateKeyFile} (mode 0600; keep it secret)\n` +
      `public key:  ${key.publicKeyFile}\n` +
      `to sign with it: Auth.Algorithm: ${alg} and Auth.SigningKeyFile: ${key.privateKeyFile}\n`,
  );
  return 0;
}

/** Maintenance commands keep stdout for their result and log to stderr. */
function stderrLogger(config: Config) {
  return createLogger({ name: config.name, ...config.log, fd: 2 });
}

/** Reads one line from stdin; on a terminal, prompts and does not echo. */
async function readPassword(stdin: NodeJS.ReadableStream & { isTTY?: boolean }, stderr: NodeJS.WritableStream): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk, _enc, cb) {
      if (!muted) stderr.write(chunk);
      cb();
    },
  });
  const rl = createInterface({ input: stdin, output: stdin.isTTY ? output : undefined, terminal: stdin.isTTY === true });
  try {
    if (stdin.isTTY) {
      output.write("password: ");
      muted = true;
    }
    const line = await new Promise<string | undefined>((resolve) => {
      rl.once("line", resolve);
      rl.once("close", () => resolve(undefined));
    });
    if (stdin.isTTY) stderr.write("\n");
    if (line === undefined) throw new AppError("invalid_argument", "password: expected one line on standard input");
    return line.replace(/\r$/, "");
  } finally {
    rl.close();
  }
}

/** One line for the operator; never a password or secret (URLs are not repeated). */
function describeError(err: unknown): string {
  if (err instanceof ConfigError || err instanceof PolicyError) return err.message;
  if (err instanceof AppError) return err.detail ?? err.kind.replace("_", " ");
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number; sqlMessage?: string };
  if (e?.code === "EADDRINUSE") return `address ${e.address ?? ""}:${e.port ?? ""} is already in use`;
  if (e?.code === "EACCES" && e.syscall === "listen") return `not allowed to listen on ${e.address ?? ""}:${e.port ?? ""}`;
  if (e?.code === "ER_ACCESS_DENIED_ERROR") return "the database refused the user name or password in DATABASE_URL";
  if (e?.code === "ER_BAD_DB_ERROR") return "the database named in DATABASE_URL does not exist";
  if (typeof e?.code === "string" && /^E[A-Z]+$/.test(e.code) && e.syscall !== undefined) {
    return `cannot reach ${e.syscall === "getaddrinfo" ? "the host" : "a backend"} (${e.code}${e.address ? ` ${e.address}:${e.port}` : ""})`;
  }
  if (typeof e?.code === "string") return `${e.code}: ${e.sqlMessage ?? e.message}`;
  return e?.message ?? String(err);
}
