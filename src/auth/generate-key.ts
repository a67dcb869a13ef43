import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { publicKeyId, type Algorithm } from "protogate/jwt";

/** A key pair written by {@link generateKeyFiles}. */
export interface GeneratedKey {
  readonly kid: string;
  readonly alg: Exclude<Algorithm, "HS256">;
  /** The PEM private key (PKCS#8, mode 0600): Auth.SigningKeyFile. */
  readonly privateKeyFile: string;
  /** The PEM public key (SPKI): Auth.VerifyKeyFiles once the key is retired from signing. */
  readonly publicKeyFile: string;
}

/**
 * Generates a key pair for `alg` (RSA 3072 bits, EC P-256 or Ed25519) and writes it into
 * `dir` as `<kid>.key.pem` and `<kid>.pub.pem`, where the kid is the public key's RFC 7638
 * thumbprint. Never overwrites a file.
 */
export async function generateKeyFiles(alg: Exclude<Algorithm, "HS256">, dir: string): Promise<GeneratedKey> {
  const { privateKey, publicKey } =
    alg === "RS256"
      ? generateKeyPairSync("rsa", { modulusLength: 3072 })
      : alg === "ES256"
        ? generateKeyPairSync("ec", { namedCurve: "prime256v1" })
        : generateKeyPairSync("ed25519");
  const kid = await publicKeyId(publicKey);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const privateKeyFile = join(dir, `${kid}.key.pem`);
  const publicKeyFile = join(dir, `${kid}.pub.pem`);
  writeFileSync(privateKeyFile, privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600, flag: "wx" });
  writeFileSync(publicKeyFile, publicKey.export({ format: "pem", type: "spki" }), { mode: 0o644, flag: "wx" });
  return { kid, alg, privateKeyFile, publicKeyFile };
}
