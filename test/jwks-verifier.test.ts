import assert from "node:assert/strict";
import { generateKeyPairSync, randomUUID, type KeyObject } from "node:crypto";
import { EventEmitter, once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { SignJWT, type JWK } from "jose";
import type { Config } from "../src/config.js";
import { SearchService } from "../src/gen/search/v1/search_pb.js";
import { callCode, manualClock, memoryLogger, settlesTo, startTestApp, tempDir, testConfig } from "./harness.js";

// A search service that verifies with a JWKS URL only (`--only search` with Auth.JwksUrl), against
// a JWKS host this test controls: what it publishes, whether it answers, and every fetch it gets.

const dir = tempDir();
after(() => dir.remove());

const code = callCode;
const auth = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });

/** An ES256 signing key of the "user service", with its public JWK as the JWKS lists it. */
function esKey(kid: string): { kid: string; privateKey: KeyObject; jwk: JWK } {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { kid, privateKey, jwk: { ...(publicKey.export({ format: "jwk" }) as JWK), kid, alg: "ES256", use: "sig" } };
}

/** An access token as the user service signs it (alice, id 1), valid for ten minutes from `nowMs`. */
function tokenOf(key: { kid: string; privateKey: KeyObject }, nowMs = Date.now()): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  return new SignJWT({ userId: 1, jti: randomUUID() }).setProtectedHeader({ alg: "ES256", typ: "JWT", kid: key.kid }).setIssuedAt(iat).setExpirationTime(iat + 600).sign(key.privateKey);
}

/** The JWKS host: serves `keys`, or (`hang`) takes requests and never answers; counts every fetch. */
interface JwksHost {
  readonly url: string;
  keys: JWK[];
  hang: boolean;
  /** Fetches received so far. */
  readonly fetches: number;
  /** Resolves once `n` fetches in all have been answered (or, hanging, received), failing after `ms`. */
  fetched(n: number, ms?: number): Promise<void>;
  /** Requests left hanging whose client has since given up (closed the connection). */
  readonly abandoned: number;
  close(): Promise<void>;
}

async function startJwksHost(keys: JWK[]): Promise<JwksHost> {
  let fetches = 0;
  let done = 0;
  let abandoned = 0;
  const hanging = new Set<ServerResponse>();
  const events = new EventEmitter();
  const server: Server = createServer((_req: IncomingMessage, res: ServerResponse) => {
    fetches++;
    if (host.hang) {
      hanging.add(res);
      res.once("close", () => {
        hanging.delete(res);
        abandoned++;
      });
      done++;
      events.emit("fetch");
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: host.keys }), () => {
      done++;
      events.emit("fetch");
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const host: JwksHost = {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/.well-known/jwks.json`,
    keys,
    hang: false,
    get fetches() {
      return fetches;
    },
    get abandoned() {
      return abandoned;
    },
    async fetched(n, ms = 15_000) {
      const deadline = Date.now() + ms;
      while (done < n) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out waiting for fetch ${n} (${done} so far)`);
        await Promise.race([once(events, "fetch"), new Promise((r) => setTimeout(r, Math.min(left, 250)))]);
      }
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
  return host;
}

/** A search-only process with no secret and no key: only the JWKS URL (and the given Auth settings). */
function verifierConfig(name: string, auth: Partial<Config["auth"]>): Config {
  const base = testConfig(dir.path, { dataSource: `sqlite:${join(dir.path, `${name}.db`)}` });
  return { ...base, auth: { ...base.auth, accessSecret: "", ...auth } };
}

const search = (url: string, grpc = false) =>
  createClient(SearchService, grpc ? createGrpcTransport({ baseUrl: url }) : createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));

describe("a JWKS-only verifier (--only search with Auth.JwksUrl)", () => {
  test("a JWKS host that never answers: the first call is unavailable after the 2 s fetch timeout, not hung; then verifies once the host answers", async () => {
    const k1 = esKey("k1");
    const host = await startJwksHost([k1.jwk]);
    host.hang = true;
    const verifier = await startTestApp(verifierConfig("jwks-hang", { jwksUrl: host.url, jwksCooldown: 1 }), { only: "search" });
    try {
      const token = await tokenOf(k1);
      const started = Date.now();
      // the client gives up after 12 s: a verifier that waited on the fetch forever would be deadline_exceeded
      const first = await code(search(verifier.searchUrl).do({ name: "go-zero" }, { ...auth(token), timeoutMs: 12_000 }));
      const waited = Date.now() - started;
      assert.equal(first, "Unavailable", "before the first successful fetch: unavailable (retry), not unauthenticated");
      assert.equal(host.fetches, 1);
      assert.ok(waited >= 1900, `answered after ${waited} ms: it waited for the fetch's timeout`);
      await settlesTo(5000, "1", async () => String(host.abandoned));
      assert.equal(host.abandoned, 1, "the verifier gave up the hung fetch (it did not leave it open)");
      assert.equal(await code(search(verifier.searchUrl, true).do({ name: "go-zero" }, { ...auth(token), timeoutMs: 12_000 })), "Unavailable", "gRPC too");
      assert.equal(await code(search(verifier.searchUrl).ping({})), "ok", "public methods are not affected");

      host.hang = false;
      assert.equal(await settlesTo(10_000, "ok", () => code(search(verifier.searchUrl).do({ name: "go-zero" }, auth(token)))), "ok", "verifies once the host answers");
    } finally {
      await verifier.close();
      await host.close();
    }
  });

  test("keys are refetched every JwksMaxAge in the background: a key added is picked up, a key dropped stops verifying, cached tokens included", async () => {
    const [k1, k2] = [esKey("k1"), esKey("k2")];
    const host = await startJwksHost([k1.jwk]);
    const { logger, lines } = memoryLogger();
    // a long cool-down: after its one refetch, k2's kid causes no other, so only the JwksMaxAge refetch can find it
    const verifier = await startTestApp(verifierConfig("jwks-maxage", { jwksUrl: host.url, jwksCooldown: 3600, jwksMaxAge: 1 }), { only: "search", logger });
    try {
      const [t1, t2] = [await tokenOf(k1), await tokenOf(k2)];
      assert.equal(await code(search(verifier.searchUrl).do({ name: "go-zero" }, auth(t1))), "ok");
      assert.equal(await code(search(verifier.searchUrl, true).do({ name: "go-zero" }, auth(t1))), "ok", "and from the verified-token cache");
      const beforeK2 = host.fetches;
      assert.equal(await code(search(verifier.searchUrl).do({ name: "go-zero" }, auth(t2))), "Unauthenticated", "k2 is not published yet");
      assert.ok(host.fetches > beforeK2, "an unknown kid caused a refetch");

      // with no call at all, the verifier refetches by itself
      const idle = host.fetches;
      await host.fetched(idle + 2);

      host.keys = [k1.jwk, k2.jwk];
      await host.fetched(host.fetches + 1);
      assert.equal(await settlesTo(10_000, "ok", () => code(search(verifier.searchUrl).do({ name: "go-zero" }, auth(t2)))), "ok", "the added key is picked up");

      host.keys = [k2.jwk];
      await host.fetched(host.fetches + 1);
      const dropped = await settlesTo(10_000, "Unauthenticated", () => code(search(verifier.searchUrl).do({ name: "go-zero" }, auth(t1))));
      assert.equal(dropped, "Unauthenticated", "the dropped key's token is refused, though it was verified and cached");
      assert.equal(await code(search(verifier.searchUrl, true).do({ name: "go-zero" }, auth(t1))), "Unauthenticated", "gRPC too");
      assert.equal(await code(search(verifier.searchUrl).do({ name: "go-zero" }, auth(t2))), "ok");
      const reasons = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === "access token rejected").map((l) => l.reason);
      assert.equal(reasons.at(-1), "unknown_key", "logged as unknown_key");
    } finally {
      await verifier.close();
      await host.close();
    }
  });

  for (const cache of [10_000, 0]) {
    test(`Auth.VerifiedTokenCache: ${cache}: ${cache === 0 ? "every call verifies the token in full (it looks its key up)" : "a token seen before skips the key lookup"}`, async () => {
      const k1 = esKey("k1");
      const host = await startJwksHost([k1.jwk]);
      // JwksMaxAge 300 s on a clock the test moves: keys go stale only when the test says so, and
      // a verification that looks its key up then refetches; one served from the cache does not
      const clock = manualClock();
      const verifier = await startTestApp(verifierConfig(`jwks-cache-${cache}`, { jwksUrl: host.url, jwksMaxAge: 300, verifiedTokenCache: cache }), {
        only: "search",
        clock,
      });
      try {
        const token = await tokenOf(k1, clock.now());
        // the first call fetches the keys (a token verified while the keys change is not cached); the second is remembered
        for (let i = 0; i < 2; i++) assert.equal(await code(search(verifier.searchUrl).do({ name: "go-zero" }, auth(token))), "ok");
        assert.equal(host.fetches, 1);
        clock.advance(301_000);
        assert.equal(await code(search(verifier.searchUrl).do({ name: "go-zero" }, auth(token))), "ok");
        assert.equal(host.fetches, cache === 0 ? 2 : 1, cache === 0 ? "verified again: its key was looked up (stale, so refetched)" : "served from the verified-token cache");
      } finally {
        await verifier.close();
        await host.close();
      }
    });
  }
});
