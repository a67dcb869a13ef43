import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { authFailureOf } from "protogate";
import { SearchService } from "../../src/gen/search/v1/search_pb.js";
import { UserService } from "../../src/gen/user/v1/user_pb.js";
import { openStorage } from "../../src/service-context.js";
import { addUser } from "../../src/user/manage-users.js";
import { memoryLogger, startTestApp, tempDir, testConfig, testPasswordCost, testSecret } from "../harness.js";
import { badTokens, type BadToken } from "./bad-tokens.js";

const canary = "CANARY-c0ffee-9d2e";
const refusal = { code: "unauthenticated", message: "invalid or missing access token" };

describe("adversarial tokens, over the Connect protocol and over gRPC", async () => {
  const dir = tempDir();
  const secret = testSecret();
  const config = testConfig(dir.path, { accessSecret: secret, accessExpire: 3600 });
  const { logger, lines } = memoryLogger();
  let app: Awaited<ReturnType<typeof startTestApp>>;
  let probe: Server;
  let probeHits = 0;
  let tokens: BadToken[] = [];
  let validToken = "";
  const responses: string[] = [];

  before(async () => {
    probe = createServer((_req, res) => {
      probeHits++;
      res.end("{}");
    });
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const storage = await openStorage(config, { passwordCost: testPasswordCost });
    await addUser(storage, { username: "alice", password: "alice-password" });
    await storage.close();
    app = await startTestApp(config, { logger });
    const users = createClient(UserService, createGrpcTransport({ baseUrl: app.userUrl }));
    validToken = (await users.login({ username: "alice", password: "alice-password" })).accessToken;
    tokens = await badTokens({
      secret,
      now: Math.floor(Date.now() / 1000),
      canary,
      probeUrl: `http://127.0.0.1:${(probe.address() as { port: number }).port}`,
      validToken,
    });
  });
  after(async () => {
    await app.close();
    await new Promise((r) => probe.close(r));
    dir.remove();
  });

  const callConnect = async (authorization: string | undefined) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (authorization !== undefined) headers.authorization = authorization;
    const res = await fetch(`${app.searchUrl}/search.v1.SearchService/Do`, { method: "POST", headers, body: '{"name":"go-zero"}' });
    const text = await res.text();
    responses.push(text, JSON.stringify([...res.headers]));
    return { status: res.status, text };
  };
  const callGrpc = async (authorization: string | undefined) => {
    const client = createClient(SearchService, createGrpcTransport({ baseUrl: app.searchUrl }));
    try {
      const res = await client.do({ name: "go-zero" }, { headers: authorization === undefined ? {} : { authorization } });
      return { ok: true as const, count: res.count };
    } catch (err) {
      const e = ConnectError.from(err);
      responses.push(e.rawMessage, JSON.stringify([...e.metadata]));
      return { ok: false as const, code: e.code, message: e.rawMessage, failure: authFailureOf(e) };
    }
  };

  test("the suite has the README's 131 distinct named tokens", () => {
    // exact: a token dropped by accident (or added without the README's count) fails here
    assert.equal(tokens.length, 131, `${tokens.length} tokens`);
    assert.equal(new Set(tokens.map((t) => t.name)).size, tokens.length);
  });

  test("valid controls pass on both protocols", async () => {
    for (const authorization of [validToken, `Bearer ${validToken}`, `bearer ${validToken}`, `BEARER   ${validToken}  `]) {
      const c = await callConnect(authorization);
      assert.equal(c.status, 200, c.text);
      assert.deepEqual(JSON.parse(c.text), { name: "go-zero", count: "100" });
      const g = await callGrpc(authorization);
      assert.deepEqual(g, { ok: true, count: 100n });
    }
  });

  test("every bad token is unauthenticated with one constant message on both protocols, its detail saying no more than missing, expired or invalid", async () => {
    const wrong: string[] = [];
    const told = new Map<string, number>();
    /** What the caller may be told, from the reason the server logged for the call just made. */
    const publicReason = (before: number) => {
      const logged = lines.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === "access token rejected");
      const reason = logged.length === 1 ? String(logged[0]!.reason) : `${logged.length} log lines`;
      return reason === "missing" ? "TOKEN_MISSING" : reason === "expired" ? "TOKEN_EXPIRED" : "TOKEN_INVALID";
    };
    for (const { name, authorization } of tokens) {
      let before = lines.length;
      const c = await callConnect(authorization);
      const expected = publicReason(before);
      told.set(expected, (told.get(expected) ?? 0) + 1);
      const body = c.status === 401 ? (JSON.parse(c.text) as { code: string; message: string; details?: { type: string; debug?: unknown }[] }) : undefined;
      const detail = body?.details?.length === 1 ? body.details[0]! : undefined;
      if (body?.code !== refusal.code || body.message !== refusal.message || detail?.type !== "google.rpc.ErrorInfo" || JSON.stringify(detail.debug) !== JSON.stringify({ reason: expected, domain: "protogate", metadata: {} })) {
        wrong.push(`${name} (Connect): ${c.status} ${c.text.slice(0, 160)}`);
      }
      before = lines.length;
      const g = await callGrpc(authorization);
      if (g.ok || g.code !== Code.Unauthenticated || g.message !== refusal.message || g.failure !== publicReason(before)) {
        wrong.push(`${name} (gRPC): ${JSON.stringify(g, (_k, v) => (typeof v === "bigint" ? String(v) : v))}`);
      }
    }
    assert.deepEqual(wrong, []);
    assert.ok((told.get("TOKEN_INVALID") ?? 0) > tokens.length / 2, `told: ${JSON.stringify([...told])}`);
  });

  test("each refusal is logged once with a reason code and a short tag, never the token or claims", () => {
    const rejected = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === "access token rejected");
    assert.equal(rejected.length, tokens.length * 2);
    for (const r of rejected) {
      assert.match(String(r.reason), /^(missing|malformed|bad_algorithm|bad_signature|unknown_key|expired|not_yet_valid|bad_claims)$/);
      if (r.reason !== "missing") assert.match(String(r.tokenTag), /^[A-Za-z0-9_-]{12}$/);
    }
    const text = lines.join("\n");
    assert.ok(!text.includes(canary), "the canary never reaches the log");
    assert.ok(!text.includes(secret));
    for (const { authorization } of tokens) {
      if (authorization !== undefined && authorization.length > 24) assert.ok(!text.includes(authorization.slice(0, 40).trim()));
    }
  });

  test("no response echoes the canary or the token", () => {
    const all = responses.join("\n");
    assert.ok(!all.includes(canary));
    assert.ok(!all.includes(validToken));
  });

  test("no outbound request was made for jku, x5u or anything else", () => {
    assert.equal(probeHits, 0);
  });

  test("SQL injection strings as usernames are harmless", async () => {
    const users = createClient(UserService, createGrpcTransport({ baseUrl: app.userUrl }));
    for (const username of ["' OR '1'='1", "alice' --", "alice'; DROP TABLE user; --", "\" OR \"\"=\"", "alice\u0000", "%", "_"]) {
      await assert.rejects(users.login({ username, password: "alice-password" }), (err) => {
        const e = ConnectError.from(err);
        return (e.code === Code.Unauthenticated && e.rawMessage === "invalid username or password") || e.code === Code.InvalidArgument;
      });
    }
    assert.ok((await users.login({ username: "alice", password: "alice-password" })).accessToken);
  });
});
