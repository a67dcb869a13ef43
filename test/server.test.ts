import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { decodeJwt } from "jose";
import { SearchService } from "../src/gen/search/v1/search_pb.js";
import { UserService } from "../src/gen/user/v1/user_pb.js";
import { openStorage } from "../src/service-context.js";
import { addUser } from "../src/user/manage-users.js";
import { memoryLogger, startTestApp, tempDir, testConfig, testPasswordCost } from "./harness.js";

const password = "correct horse battery staple";

describe("both services over every protocol on one port each", () => {
  const dir = tempDir();
  const config = testConfig(dir.path, { accessExpire: 3600 });
  const { logger, lines } = memoryLogger();
  let app: Awaited<ReturnType<typeof startTestApp>>;
  let userId: number;

  before(async () => {
    const storage = await openStorage(config, { passwordCost: testPasswordCost, logger });
    userId = await addUser(storage, { username: "alice", password, name: "Alice", gender: "female" });
    await storage.close();
    app = await startTestApp(config, { logger });
  });
  after(async () => {
    await app.close();
    dir.remove();
  });

  const transports: Record<string, (baseUrl: string) => Transport> = {
    "Connect JSON over HTTP/1.1": (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1" }),
    "Connect binary over HTTP/1.1": (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true }),
    "Connect JSON over h2c": (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2" }),
    "Connect binary over h2c": (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true }),
    "gRPC over h2c": (baseUrl) => createGrpcTransport({ baseUrl }),
    "gRPC-Web over HTTP/1.1": (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }),
    "gRPC-Web over h2c": (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "2" }),
  };

  for (const [name, make] of Object.entries(transports)) {
    test(name, async () => {
      const users = createClient(UserService, make(app.userUrl));
      const search = createClient(SearchService, make(app.searchUrl));

      const res = await users.login({ username: "alice", password });
      assert.equal(res.id, BigInt(userId));
      assert.equal(res.name, "Alice");
      assert.equal(res.gender, "female");
      const claims = decodeJwt(res.accessToken);
      assert.equal(claims.userId, userId);
      assert.equal(BigInt(claims.exp!), res.accessExpire);
      assert.equal(res.accessExpire, BigInt(claims.iat! + 3600));
      assert.equal(res.refreshAfter, BigInt(claims.iat! + 1800));

      await assert.rejects(search.do({ name: "go-zero" }), (err) => ConnectError.from(err).code === Code.Unauthenticated);

      const before = lines.length;
      const found = await search.do({ name: "go-zero" }, { headers: { authorization: res.accessToken } });
      assert.deepEqual([found.name, found.count], ["go-zero", 100n]);
      const logged = lines.slice(before).map((l) => JSON.parse(l)).find((l) => l.msg === "search");
      assert.equal(logged?.userId, userId, "Do logs the caller's userId from the claims");

      const bearer = await search.do({ name: "no such book" }, { headers: { authorization: `Bearer ${res.accessToken}` } });
      assert.deepEqual([bearer.name, bearer.count], ["no such book", 0n]);

      await search.ping({});

      await assert.rejects(users.login({ username: "alice", password: "wrong password" }), (err) => {
        const e = ConnectError.from(err);
        return e.code === Code.Unauthenticated && e.rawMessage === "invalid username or password";
      });
      await assert.rejects(search.do({ name: "" }, { headers: { authorization: res.accessToken } }), (err) => {
        const e = ConnectError.from(err);
        return e.code === Code.InvalidArgument && /name/.test(e.rawMessage);
      });
    });
  }

  test("plain HTTP POSTs as in the tutorial's curl walk-through", async () => {
    const login = await fetch(`${app.userUrl}/user.v1.UserService/Login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "alice", password }),
    });
    assert.equal(login.status, 200);
    const body = (await login.json()) as Record<string, string>;
    assert.deepEqual(Object.keys(body).sort(), ["accessExpire", "accessToken", "gender", "id", "name", "refreshAfter", "refreshExpire", "refreshToken"]);

    const denied = await fetch(`${app.searchUrl}/search.v1.SearchService/Do`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "go-zero" }),
    });
    assert.equal(denied.status, 401);
    const refusal = (await denied.json()) as { code: string; message: string; details: { type: string; debug: unknown }[] };
    assert.deepEqual([refusal.code, refusal.message], ["unauthenticated", "invalid or missing access token"]);
    assert.deepEqual(refusal.details.map((d) => [d.type, d.debug]), [["google.rpc.ErrorInfo", { reason: "TOKEN_MISSING", domain: "protogate", metadata: {} }]]);

    const ok = await fetch(`${app.searchUrl}/search.v1.SearchService/Do`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: body.accessToken! },
      body: JSON.stringify({ name: "unknown" }),
    });
    assert.deepEqual(await ok.json(), { name: "unknown", count: "0" });

    const ping = await fetch(`${app.searchUrl}/search.v1.SearchService/Ping`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(ping.status, 200);
  });

  test("a request body over the limit is refused before any work", async () => {
    const res = await fetch(`${app.userUrl}/user.v1.UserService/Login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "alice", password: "x".repeat(config.limits.readMaxBytes) }),
    });
    assert.equal(res.status, 429);
    const err = (await res.json()) as { code: string };
    assert.equal(err.code, "resource_exhausted");
  });

  test("unknown methods and message fields are refused before any work", async () => {
    const unknown = await fetch(`${app.searchUrl}/search.v1.SearchService/Nope`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    assert.equal(unknown.status, 404);
    const field = await fetch(`${app.userUrl}/user.v1.UserService/Login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "alice", password, admin: true }),
    });
    assert.equal(field.status, 400);
    assert.equal(((await field.json()) as { code: string }).code, "invalid_argument");
  });

  test("nothing logged carries a token or a password", () => {
    const text = lines.join("\n");
    assert.doesNotMatch(text, /eyJ[A-Za-z0-9_-]{10,}\./);
    assert.ok(!text.includes(password));
  });
});
