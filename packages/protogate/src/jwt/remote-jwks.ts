import { AuthError } from "../errors.js";
import { systemClock, type Clock } from "../lib/clock.js";
import { parseStrictJsonObject } from "../lib/strict-json.js";
import type { KeySet } from "./key-set.js";
import { verificationKeyFromJwk, type VerificationKey } from "./keys.js";

/** Where a remote key set reports its state changes (pino, console, or anything alike). */
export interface JwksLogger {
  warn(fields: object, message: string): void;
  info(fields: object, message: string): void;
}

/** Options of {@link createRemoteKeySet}. */
export interface RemoteKeySetOptions {
  /** The JWKS document, e.g. `http://user-service:8888/.well-known/jwks.json`. */
  url: string;
  /** Default: the system clock. */
  clock?: Clock;
  /** Default: silent. */
  logger?: JwksLogger;
  /** Time a fetch may take, in milliseconds (default 2000). */
  timeoutMs?: number;
  /** Least time between two refetches for the same unknown `kid` (and between retries after a failure), in milliseconds (default 30 000). */
  cooldownMs?: number;
  /** Age after which the keys are refetched; a key dropped from the JWKS stops verifying by then (default 300 000). */
  maxAgeMs?: number;
  /** Least time between any two fetches, in milliseconds (default: 1000, or the cool-down if shorter). */
  minIntervalMs?: number;
}

/** Largest JWKS document read, in bytes, and most keys taken from it. */
const maxBytes = 64 * 1024;
const maxKeys = 32;
/** Unknown kids remembered for the per-kid cool-down (the oldest forgotten first). */
const maxRememberedKids = 1024;

const silent: JwksLogger = { warn() {}, info() {} };

/**
 * Verification keys fetched from a JWKS URL (e.g. the issuer's `/.well-known/jwks.json`), so
 * a verifier needs no secret. Fetched with a timeout and cached. A token naming an unknown
 * `kid` causes a refetch unless that same `kid` caused one within the cool-down, and all
 * fetches are at least `minIntervalMs` apart (a request waits for the next one rather than
 * being refused), so forged `kid`s cannot make it hammer the host while a freshly rotated key
 * is picked up within a second. Keys are refetched every `maxAgeMs`, so a key removed from the
 * JWKS stops verifying by then; when the host is down the cached keys keep serving. Until a
 * first fetch succeeds, verification fails with {@link AuthError} `unavailable` (not the caller's fault, and
 * worth a retry). `version` changes whenever the set of keys does.
 */
export function createRemoteKeySet(options: RemoteKeySetOptions): KeySet & { ready(): Promise<boolean>; version(): number; close(): void } {
  const { url, clock = systemClock, logger = silent, timeoutMs = 2000, cooldownMs = 30_000, maxAgeMs = 300_000 } = options;
  const minIntervalMs = options.minIntervalMs ?? Math.min(1000, cooldownMs);
  let keys: readonly VerificationKey[] | undefined;
  let version = 0;
  let fetchedAt = 0; // read only once keys are held, and set with them
  let attemptedAt = -Infinity;
  let inflight: Promise<void> | undefined;
  let failing = false;
  const triedKids = new Map<string, number>();

  const fetchNow = (): Promise<void> => {
    inflight ??= (async () => {
      attemptedAt = clock.now();
      try {
        const next = await fetchKeys(url, timeoutMs);
        if (keys === undefined || !sameKeys(keys, next)) version++;
        keys = next;
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
  /** The next fetch, no sooner than `minIntervalMs` after the last one (callers share it). */
  let scheduled: Promise<void> | undefined;
  const nextFetch = (): Promise<void> => {
    if (inflight) return inflight;
    const wait = attemptedAt + minIntervalMs - clock.now();
    if (wait <= 0) return fetchNow();
    scheduled ??= new Promise<void>((r) => setTimeout(r, wait).unref()).then(fetchNow).finally(() => (scheduled = undefined));
    return scheduled;
  };
  /** Whether an unknown `kid` may cause a fetch: not if it caused one within the cool-down. */
  const mayFetchFor = (kid: string) => {
    const last = triedKids.get(kid);
    if (last !== undefined && clock.now() - last < cooldownMs) return false;
    triedKids.delete(kid);
    triedKids.set(kid, clock.now());
    if (triedKids.size > maxRememberedKids) triedKids.delete(triedKids.keys().next().value!);
    return true;
  };
  const timer = setInterval(() => void fetchNow(), Math.max(maxAgeMs, 1000)).unref();

  return {
    async ready() {
      if (keys === undefined) await fetchNow();
      return keys !== undefined;
    },
    version: () => version,
    close: () => clearInterval(timer),
    async candidates(kid, alg) {
      if (keys === undefined) {
        if (clock.now() - attemptedAt >= cooldownMs || inflight) await nextFetch();
        if (keys === undefined) throw new AuthError("unavailable");
      } else if (clock.now() - fetchedAt > maxAgeMs && !failing) {
        // the interval timer refetches; this covers a timer delayed by a busy process (while the
        // host is down, the cached keys serve without waiting)
        await nextFetch();
      }
      const pick = () => (kid !== undefined ? keys!.filter((k) => k.kid === kid) : keys!.filter((k) => k.alg === alg));
      let found = pick();
      if (found.length === 0 && kid !== undefined && mayFetchFor(kid)) {
        await nextFetch();
        found = pick();
      }
      return found;
    },
  };
}

function sameKeys(a: readonly VerificationKey[], b: readonly VerificationKey[]): boolean {
  // a key's JWK holds its kid and alg too
  return a.length === b.length && a.every((k, i) => JSON.stringify(k.jwk) === JSON.stringify(b[i]!.jwk));
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
  if (res.body === null) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
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
