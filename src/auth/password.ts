import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { hash as argon2Hash, verify as argon2Verify } from "@node-rs/argon2";
import { inSpan } from "../lib/tracing.js";

/**
 * Hashes and checks passwords. New hashes are argon2id in PHC form
 * (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`); scrypt hashes of earlier versions
 * (`$scrypt$ln=15,r=8,p=1$...`) still verify, and {@link needsRehash} says to replace them.
 */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** True when `password` matches `stored`; false for a mismatch or an unreadable `stored`. */
  verify(password: string, stored: string): Promise<boolean>;
  /**
   * Spends the time of one {@link verify} against a dummy hash at the current parameters and
   * returns false, so a login for an unknown user costs what a wrong password costs.
   */
  verifyDummy(password: string): Promise<false>;
  /** Whether `stored` was made with other parameters (or scrypt): rehash it at the next login. */
  needsRehash(stored: string): boolean;
}

/** argon2id's cost parameters. */
export interface Argon2Params {
  /** Memory in KiB. */
  readonly memoryKiB: number;
  /** Passes over the memory. */
  readonly timeCost: number;
  readonly parallelism: number;
}

/** OWASP Password Storage Cheat Sheet's first argon2id choice: m=19 MiB, t=2, p=1. */
export const owaspArgon2id: Argon2Params = { memoryKiB: 19 * 1024, timeCost: 2, parallelism: 1 };

const argon2Phc = /^\$argon2id\$v=19\$m=(\d{1,7}),t=(\d{1,2}),p=(\d{1,2})\$[A-Za-z0-9+/]{11,64}\$[A-Za-z0-9+/]{22,86}$/;
const scryptPhc = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d)\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

/**
 * Creates the hasher (argon2id through `@node-rs/argon2`, salted, the parameters stored with
 * each hash). Stored parameters are bounded before any work, so a corrupt row cannot ask for
 * unbounded memory or time.
 */
export function createPasswordHasher(options: { params?: Argon2Params } = {}): PasswordHasher {
  const params = options.params ?? owaspArgon2id;
  const current = `$argon2id$v=19$m=${params.memoryKiB},t=${params.timeCost},p=${params.parallelism}$`;
  let dummy: Promise<string> | undefined;

  const hasher: PasswordHasher = {
    hash(password) {
      return inSpan("password.hash", { "password.algorithm": "argon2id" }, () =>
        argon2Hash(password.normalize("NFC"), {
          memoryCost: params.memoryKiB,
          timeCost: params.timeCost,
          parallelism: params.parallelism,
        }),
      );
    },
    async verify(password, stored) {
      const a = argon2Phc.exec(stored);
      if (a !== null) {
        const [m, t, p] = [Number(a[1]), Number(a[2]), Number(a[3])];
        if (m < 8 * p || m > 256 * 1024 || t < 1 || t > 10 || p < 1 || p > 8) return false;
        return inSpan("password.verify", { "password.algorithm": "argon2id" }, () => argon2Verify(stored, password.normalize("NFC")).catch(() => false));
      }
      return inSpan("password.verify", { "password.algorithm": "scrypt" }, () => verifyScrypt(password, stored));
    },
    async verifyDummy(password) {
      dummy ??= hasher.hash(randomBytes(16).toString("hex"));
      await hasher.verify(password, await dummy);
      return false;
    },
    needsRehash: (stored) => !stored.startsWith(current),
  };
  return hasher;
}

/** The scrypt hashes of earlier versions (N = 2^ln, r, p): verified, never made any more. */
async function verifyScrypt(password: string, stored: string): Promise<boolean> {
  const m = scryptPhc.exec(stored);
  if (m === null) return false;
  const [ln, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (ln < 10 || ln > 20 || r < 1 || r > 16 || p < 1 || p > 4) return false;
  const salt = Buffer.from(m[4]!, "base64");
  const expected = Buffer.from(m[5]!, "base64");
  if (expected.length < 16 || expected.length > 64) return false;
  const N = 2 ** ln;
  // parameters within these bounds that OpenSSL still refuses (N >= 2^(16 r)) are a mismatch, not a throw
  const actual = await new Promise<Buffer | undefined>((resolve) => {
    try {
      scrypt(password.normalize("NFC"), salt, expected.length, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) =>
        resolve(err ? undefined : key),
      );
    } catch {
      resolve(undefined);
    }
  });
  return actual !== undefined && timingSafeEqual(actual, expected);
}
