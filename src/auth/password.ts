import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/** Hashes and checks passwords. Stored form: `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` (base64). */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** True when `password` matches `stored`; false for a mismatch or an unreadable `stored`. */
  verify(password: string, stored: string): Promise<boolean>;
  /**
   * Spends the time of one {@link verify} against a dummy hash and returns false, so a login
   * for an unknown user costs what a wrong password costs.
   */
  verifyDummy(password: string): Promise<false>;
}

interface ScryptParams {
  ln: number;
  r: number;
  p: number;
}

const keyLength = 32;
const saltLength = 16;
const phc = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d)\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

/**
 * Creates a scrypt hasher (node:crypto, salted, parameters stored with each hash so they can
 * be raised later). `cost` is log2 of scrypt's N: 15 (32 MiB, tens of milliseconds) by default.
 */
export function createPasswordHasher(options: { cost?: number } = {}): PasswordHasher {
  const params: ScryptParams = { ln: options.cost ?? 15, r: 8, p: 1 };
  let dummy: Promise<string> | undefined;

  const hasher: PasswordHasher = {
    async hash(password) {
      const salt = randomBytes(saltLength);
      const key = await derive(password, salt, params, keyLength);
      return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${salt.toString("base64")}$${key.toString("base64")}`;
    },
    async verify(password, stored) {
      const m = phc.exec(stored);
      if (m === null) return false;
      const p: ScryptParams = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
      // bounds keep a corrupt row from costing unbounded CPU or memory
      if (p.ln < 10 || p.ln > 20 || p.r < 1 || p.r > 16 || p.p < 1 || p.p > 4) return false;
      const salt = Buffer.from(m[4]!, "base64");
      const expected = Buffer.from(m[5]!, "base64");
      if (expected.length < 16 || expected.length > 64) return false;
      const actual = await derive(password, salt, p, expected.length);
      return timingSafeEqual(actual, expected);
    },
    async verifyDummy(password) {
      dummy ??= hasher.hash(randomBytes(16).toString("hex"));
      await hasher.verify(password, await dummy);
      return false;
    },
  };
  return hasher;
}

function derive(password: string, salt: Buffer, p: ScryptParams, length: number): Promise<Buffer> {
  const N = 2 ** p.ln;
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFC"), salt, length, { N, r: p.r, p: p.p, maxmem: 256 * N * p.r }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}
