import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import fc from "fast-check";
import { SignJWT } from "jose";
import { AuthError, authFailureOf, tokenFromHeader } from "protogate";
import { SearchService } from "../../src/gen/search/v1/search_pb.js";
import { memoryLogger, startTestApp, tempDir, testConfig, testSecret } from "../harness.js";

const b64 = (v: unknown) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
const canary = "CANARY-7f3a";

describe("tokenFromHeader", () => {
  test("raw token and Bearer in any case", () => {
    assert.equal(tokenFromHeader("a.b.c"), "a.b.c");
    assert.equal(tokenFromHeader("Bearer a.b.c"), "a.b.c");
    assert.equal(tokenFromHeader("bearer   a.b.c"), "a.b.c");
    assert.equal(tokenFromHeader("BEARER a.b.c "), "a.b.c");
  });
  test("missing and malformed headers", () => {
    const reason = (v: string | null) => {
      try {
        tokenFromHeader(v);
      } catch (err) {
        assert.ok(err instanceof AuthError);
        return err.reason;
      }
      return "accepted";
    };
    assert.equal(reason(null), "missing");
    assert.equal(reason(""), "missing");
    assert.equal(reason("   "), "missing");
    assert.equal(reason("Basic dXNlcjpwYXNz"), "malformed");
    assert.equal(reason("Bearer a.b.c, Bearer d.e.f"), "malformed");
    assert.equal(reason("a.b.c d.e.f"), "malformed");
  });
  test("the fast path for `Bearer <token>` reads every header as the general rule does", () => {
    // the rule as documented: optional surrounding whitespace, an optional `bearer` in any case, one run of non-space
    const rule = (v: string) => /^\s*(?:bearer\s+)?(\S+)\s*$/i.exec(v)?.[1] ?? (v.trim() === "" ? "missing" : "malformed");
    const read = (v: string) => {
      try {
        return tokenFromHeader(v);
      } catch (err) {
        return (err as AuthError).reason;
      }
    };
    const part = fc.oneof(fc.constantFrom("Bearer ", "bearer ", "Bearer", "Bearer  ", " ", "\t", "\u00a0", ".", "-", "_", ",", "a.b.c", "x"), fc.string({ maxLength: 4 }));
    fc.assert(
      fc.property(fc.array(part, { maxLength: 6 }), (parts) => {
        const header = parts.join("");
        assert.equal(read(header), rule(header));
      }),
      { seed: 17, numRuns: 3000 },
    );
  });
});

describe("auth interceptor on a real server", () => {
  const dir = tempDir();
  const secret = testSecret();
  const config = testConfig(dir.path, { accessSecret: secret, accessExpire: 3600 });
  const { logger, lines } = memoryLogger();
  let app: Awaited<ReturnType<typeof startTestApp>>;
  before(async () => (app = await startTestApp(config, { logger, only: "search" })));
  after(async () => {
    await app.close();
    dir.remove();
  });

  const now = () => Math.floor(Date.now() / 1000);
  const sign = (header: unknown, payload: unknown, key = secret, hash = "sha256") => {
    const input = `${b64(header)}.${b64(payload)}`;
    return `${input}.${createHmac(hash, key).update(input).digest("base64url")}`;
  };
  const bad: Record<string, () => Promise<string | undefined>> = {
    missing: async () => undefined,
    malformed: async () => `not-a-token-${canary}`,
    "wrong signature": async () => sign({ alg: "HS256" }, { userId: 1, exp: now() + 60, canary }, testSecret()),
    expired: async () => sign({ alg: "HS256" }, { userId: 1, iat: now() - 7200, exp: now() - 3600, canary }),
    "alg none": async () => `${b64({ alg: "none" })}.${b64({ userId: 1, exp: now() + 60, canary })}.`,
    "alg none with bearer": async () => `Bearer ${b64({ alg: "none", typ: "JWT" })}.${b64({ userId: 1, exp: now() + 60, canary })}.AA`,
    "HS512 with the same secret": async () =>
      new SignJWT({ userId: 1, canary }).setProtectedHeader({ alg: "HS512" }).setExpirationTime(now() + 60).sign(Buffer.from(secret)),
  };

  for (const [name, make] of Object.entries(bad)) {
    test(`${name}: 401 over Connect, grpc-status 16 over gRPC, one constant message`, async () => {
      const token = await make();
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (token !== undefined) headers.authorization = token;
      const res = await fetch(`${app.searchUrl}/search.v1.SearchService/Do`, { method: "POST", headers, body: '{"name":"go-zero"}' });
      assert.equal(res.status, 401);
      const text = await res.text();
      // one message; the detail says only missing, expired or invalid (no oracle)
      const reason = name === "missing" ? "TOKEN_MISSING" : name === "expired" ? "TOKEN_EXPIRED" : "TOKEN_INVALID";
      const body = JSON.parse(text) as { code: string; message: string; details: { type: string; debug: unknown }[] };
      assert.deepEqual([body.code, body.message], ["unauthenticated", "invalid or missing access token"]);
      assert.deepEqual(body.details.map((d) => [d.type, d.debug]), [["google.rpc.ErrorInfo", { reason, domain: "protogate", metadata: {} }]]);
      assert.ok(!text.includes(canary));

      const client = createClient(SearchService, createGrpcTransport({ baseUrl: app.searchUrl }));
      await assert.rejects(
        client.do({ name: "go-zero" }, { headers: token === undefined ? {} : { authorization: token } }),
        (err) => {
          const e = ConnectError.from(err);
          return e.code === Code.Unauthenticated && e.rawMessage === "invalid or missing access token" && authFailureOf(e) === reason;
        },
      );
    });
  }

  test("a valid token passes and its userId reaches the handler", async () => {
    const token = sign({ alg: "HS256", typ: "JWT" }, { userId: 99, iat: now(), exp: now() + 60 });
    const client = createClient(SearchService, createGrpcTransport({ baseUrl: app.searchUrl }));
    const before = lines.length;
    const res = await client.do({ name: "go-zero" }, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.count, 100n);
    assert.ok(lines.slice(before).some((l) => JSON.parse(l).userId === 99));
  });

  test("each refusal is logged once with its reason, never the token, claims or secret", () => {
    const rejected = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "access token rejected");
    assert.equal(rejected.length, Object.keys(bad).length * 2);
    assert.deepEqual(
      [...new Set(rejected.map((l) => l.reason))].sort(),
      ["bad_algorithm", "bad_signature", "expired", "malformed", "missing"],
    );
    const text = lines.join("\n");
    assert.ok(!text.includes(canary));
    assert.ok(!text.includes(secret));
    assert.doesNotMatch(text, /eyJ[A-Za-z0-9_-]{8,}/);
  });
});
