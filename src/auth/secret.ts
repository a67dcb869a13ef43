import { randomBytes } from "node:crypto";
import { closeSync, constants, fstatSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../config.js";

/** HS256 keys shorter than the hash output are refused (RFC 7518 section 3.2). */
export const minSecretBytes = 32;

/** Secrets published in tutorials and docs, go-zero's among them; refused whatever their length. */
const wellKnownSecrets = new Set(
  [
    "ad879037-c7a4-4063-9236-6bfc35d54b7d",
    "38f9c7af24ff11edb92900163e30ef81",
    "change-me-to-random-256-bit-value",
    "change-me-to-a-random-256-bit-value",
    "your-256-bit-secret",
    "your-256-bit-secret-keep-this-safe",
    "your-secret-key",
    "your_jwt_secret",
    "supersecretkeyyoushouldnotcommittogithub",
    "0123456789abcdef0123456789abcdef",
    "abcdefghijklmnopqrstuvwxyz012345",
    "12345678901234567890123456789012",
  ].map((s) => s.toLowerCase()),
);
const placeholderWords = /change-?me|changeit|replace-?me|your[-_ ]?(256|jwt|secret)|example|placeholder/i;

/**
 * Checks that an HS256 secret is long and not a published or placeholder value. Returns the
 * reason it is refused, or undefined when it is acceptable. The reason never quotes the secret.
 */
export function weakSecretReason(secret: string): string | undefined {
  const bytes = Buffer.byteLength(secret, "utf8");
  if (bytes < minSecretBytes) return `is ${bytes} bytes; at least ${minSecretBytes} are required`;
  if (wellKnownSecrets.has(secret.toLowerCase())) return "is a well-known published value";
  if (placeholderWords.test(secret)) return "looks like a placeholder";
  if (new Set(secret).size < 8) return "has fewer than 8 distinct characters";
  return undefined;
}

/** The file, in the data directory, that keeps the embedded default's generated secret. */
export const secretFileName = "access-secret";

/**
 * Gives the HS256 secret to use. A configured secret must pass {@link weakSecretReason}. With
 * none configured, and only when `allowGenerated` (the embedded default), a random secret is
 * created once in `dataDir` (mode 0600) and read back on later starts, so tokens outlive a
 * restart. Several processes starting at once agree on one file.
 */
export function resolveAccessSecret(options: {
  configured: string;
  dataDir: string;
  allowGenerated: boolean;
}): string {
  if (options.configured !== "") {
    const reason = weakSecretReason(options.configured);
    if (reason !== undefined) throw new ConfigError(`Auth.AccessSecret (ACCESS_SECRET) ${reason}`);
    return options.configured;
  }
  if (!options.allowGenerated) {
    throw new ConfigError(
      "Auth.AccessSecret (ACCESS_SECRET) must be set when the database is not the embedded SQLite: instances must share it",
    );
  }
  return loadOrCreateSecretFile(options.dataDir);
}

/** Checks the previous secret (rotation) like the current one; empty means none. */
export function checkPreviousSecret(previous: string, current: string): string | undefined {
  if (previous === "") return undefined;
  const reason = weakSecretReason(previous);
  if (reason !== undefined) throw new ConfigError(`Auth.PrevAccessSecret (PREV_ACCESS_SECRET) ${reason}`);
  if (previous === current) throw new ConfigError("Auth.PrevAccessSecret (PREV_ACCESS_SECRET) is the same as the current secret");
  return previous;
}

function loadOrCreateSecretFile(dataDir: string): string {
  const path = join(dataDir, secretFileName);
  const existing = readSecretFile(path);
  if (existing !== undefined) return existing;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  writeFileSync(tmp, randomBytes(32).toString("base64url") + "\n", { mode: 0o600, flag: "wx" });
  try {
    linkSync(tmp, path); // atomic: fails if another process created it first
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    unlinkSync(tmp);
  }
  const created = readSecretFile(path);
  if (created === undefined) throw new ConfigError(`cannot create ${path}`);
  return created;
}

function readSecretFile(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    throw new ConfigError(`cannot read ${path}: ${code ?? "error"}`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new ConfigError(`${path} is not a regular file`);
    if ((stat.mode & 0o077) !== 0) {
      throw new ConfigError(`${path} is readable by other users (mode ${(stat.mode & 0o777).toString(8)}); run: chmod 600 ${path}`);
    }
    const secret = readFileSync(fd, "utf8").trim();
    const reason = weakSecretReason(secret);
    if (reason !== undefined) throw new ConfigError(`the secret in ${path} ${reason}; delete the file to generate a new one`);
    return secret;
  } finally {
    closeSync(fd);
  }
}
