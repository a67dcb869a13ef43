import type { Clock } from "../clock.js";
import { ConfigError, type Config } from "../config.js";
import type { Logger } from "../logger.js";
import { readFileSync } from "node:fs";
import { createRemoteKeySet, KeyError, signingKeyFromPem, verificationKeyFromPem, type SigningKey, type VerificationKey } from "protogate/jwt";
import { checkPreviousSecret, resolveAccessSecret } from "./secret.js";
import type { TokenServiceOptions } from "./tokens.js";

/**
 * Reads the key ring from the config: the signing key (the HS256 secret, or a PEM private key
 * for RS256/ES256/EdDSA), the keys that still verify (PrevAccessSecret, VerifyKeyFiles) and
 * the remote JWKS. A process that does not sign (`signs: false`, e.g. the search service
 * alone) may verify with a JWKS URL only. Refuses, in one line, anything weak or missing.
 */
export async function loadKeyRing(
  config: Config,
  options: { signs: boolean; clock: Clock; logger: Logger },
): Promise<Pick<TokenServiceOptions, "secret" | "signing" | "previousSecret" | "verifyKeys" | "remoteKeys">> {
  try {
    return await readRing(config, options);
  } catch (err) {
    // the key's own error, already naming the setting it came from
    if (err instanceof KeyError) throw new ConfigError(err.message);
    throw err;
  }
}

async function readRing(
  config: Config,
  options: { signs: boolean; clock: Clock; logger: Logger },
): Promise<Pick<TokenServiceOptions, "secret" | "signing" | "previousSecret" | "verifyKeys" | "remoteKeys">> {
  const { auth } = config;
  const verifyOnlyByJwks = !options.signs && auth.jwksUrl !== "";
  let secret: string | undefined;
  let signing: SigningKey | undefined;
  if (auth.algorithm === "HS256") {
    if (!verifyOnlyByJwks || auth.accessSecret !== "") {
      secret = resolveAccessSecret({
        configured: auth.accessSecret,
        dataDir: config.dataDir,
        allowGenerated: config.database.dataSource.startsWith("sqlite:"),
      });
    }
  } else {
    signing = await readSigningKey(config);
    if (signing === undefined && options.signs) {
      throw new ConfigError(
        `Auth.SigningKeyFile (SIGNING_KEY_FILE) or Auth.SigningKey must hold a PEM private key for ${auth.algorithm}; create one with: bookstore keys generate --alg ${auth.algorithm}`,
      );
    }
  }
  const verifyKeys: VerificationKey[] = [];
  for (const [i, path] of auth.verifyKeyFiles.entries()) {
    const where = `Auth.VerifyKeyFiles[${i}]`;
    verifyKeys.push(await verificationKeyFromPem(readKeyFile(path, where), `${where} (${path})`));
  }
  const previousSecret = auth.prevAccessSecret === "" ? undefined : checkPreviousSecret(auth.prevAccessSecret, secret ?? "");
  const remoteKeys =
    auth.jwksUrl === ""
      ? undefined
      : createRemoteKeySet({
          url: auth.jwksUrl,
          clock: options.clock,
          logger: options.logger,
          timeoutMs: 2000,
          cooldownMs: auth.jwksCooldown * 1000,
          maxAgeMs: auth.jwksMaxAge * 1000,
        });
  if (secret === undefined && signing === undefined && previousSecret === undefined && verifyKeys.length === 0 && remoteKeys === undefined) {
    throw new ConfigError("Auth: no key to verify tokens with (set a signing key, VerifyKeyFiles or JwksUrl)");
  }
  return { secret, signing, previousSecret, verifyKeys, remoteKeys };
}

async function readSigningKey(config: Config): Promise<SigningKey | undefined> {
  const { signingKey, signingKeyFile, algorithm } = config.auth;
  if (signingKey !== "" && signingKeyFile !== "") throw new ConfigError("Auth.SigningKey and Auth.SigningKeyFile: set one, not both");
  if (signingKey !== "") return signingKeyFromPem(signingKey, algorithm, "Auth.SigningKey (SIGNING_KEY)");
  if (signingKeyFile !== "") {
    const where = "Auth.SigningKeyFile (SIGNING_KEY_FILE)";
    return signingKeyFromPem(readKeyFile(signingKeyFile, where), algorithm, `${where} ${signingKeyFile}`);
  }
  return undefined;
}

/** Reads a key file, naming the file (never its contents) when it cannot be read. */
function readKeyFile(path: string, where: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(`${where}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
  }
}
