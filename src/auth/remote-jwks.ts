import type { Clock } from "../clock.js";
import { AppError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { KeySet } from "./key-set.js";
import { verificationKeyFromJwk, type VerificationKey } from "./keys.js";
import { parseStrictJsonObject } from "./strict-json.js";

/** Options of {@link createRemoteKeySet}. */
export interface RemoteKeySetOptions {
  /** The JWKS document, e.g. `http://user-service:8888/.well-known/jwks.json`. */
  url: string;
  clock: Clock;
  logger: Logger;
  /** Time a fetch may take, in milliseconds. */
  timeoutMs: number;
  /** Least time between two fetches caused by unknown `kid`s (or failures), in milliseconds. */
  cooldownMs: number;
  /** Age after which the keys are refetched in the background while still being served. */
  maxAgeMs: number;
}

/** Largest JWKS document read, in bytes, and most keys taken from it. */
const maxBytes = 64 * 1024;
const maxKeys = 32;

/**
 * Verification keys fetched from a JWKS URL (the user service's `/.well-known/jwks.json`), so
 * a verifier needs no secret. Fetched with a timeout and cached; a token naming an unknown
 * `kid` causes a refetch at most once per cool-down (so forged `kid`s cannot make it hammer the
 * host); keys older than `maxAgeMs` are refreshed in the background while still in use; when
 * the host is down the cached keys keep serving. Until a first fetch succeeds, verification
 * fails with `unavailable` (not the caller's fault, and worth a retry).
 */
export function createRemoteKeySet(options: RemoteKeySetOptions): KeySet & { ready(): Promise<boolean> } {
  const { url, clock, logger, timeoutMs, cooldownMs, maxAgeMs } = options;
  let keys: readonly VerificationKey[] | undefined;
  let fetchedAt = 0;
  let attemptedAt = -Infinity;
  let inflight: Promise<void> | undefined;
  let failing = false;

  const refresh = (): Promise<void> => {
    inflight ??= (async () => {
      attemptedAt = clock.now();
      try {
        keys = await fetchKeys(url, timeoutMs);
        fetchedAt = clock.now();
        if (failing) logger.info({ keys: keys.length }, "JWKS reachable again");
        failing = false;
      } catch (err) {
        if (!failing) {
          logger.warn({ url: safeUrl(url), error: (err as Error).message, cachedKeys: keys?.length ?? 0 }, "JWKS fetch failed; serving with the cached keys");
        }
        failing = true;
      } finally {
        inflight = undefined;
      }
    })();
    return inflight;
  };
  const coolingDown = () => clock.now() - attemptedAt < cooldownMs;

  return {
    async ready() {
      if (keys === undefined) await refresh();
      return keys !== undefined;
    },
    async candidates(kid, alg) {
      if (keys === undefined) {
        if (!coolingDown() || inflight) await refresh();
        if (keys === undefined) throw new AppError("unavailable", "the signing keys cannot be fetched");
      } else if (clock.now() - fetchedAt > maxAgeMs && !coolingDown()) {
        void refresh();
      }
      const pick = () => (kid !== undefined ? keys!.filter((k) => k.kid === kid) : keys!.filter((k) => k.alg === alg));
      let found = pick();
      if (found.length === 0 && kid !== undefined && !coolingDown()) {
        await refresh();
        found = pick();
      }
      return found;
    },
  };
}

async function fetchKeys(url: string, timeoutMs: number): Promise<VerificationKey[]> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: "application/json" }, redirect: "error" });
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`HTTP ${res.status}`);
  }
  const body = await readCapped(res, maxBytes);
  const doc = parseStrictJsonObject(body);
  if (doc === undefined || !Array.isArray(doc.keys)) throw new Error("not a JWKS document");
  const keys: VerificationKey[] = [];
  for (const jwk of doc.keys.slice(0, maxKeys)) {
    if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk)) continue;
    const key = verificationKeyFromJwk(jwk as Record<string, unknown>);
    if (key !== undefined && !keys.some((k) => k.kid === key.kid)) keys.push(key);
  }
  return keys;
}

async function readCapped(res: Response, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body ?? []) {
    size += chunk.byteLength;
    if (size > limit) throw new Error(`larger than ${limit} bytes`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/** The URL without credentials or query, for logs. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return "(invalid URL)";
  }
}
