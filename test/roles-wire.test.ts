import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createClient, type HandlerContext } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { createAuthInterceptor, getClaims, methodName, Policy, resolvePolicies } from "protogate";
import { realm } from "../src/auth/caller.js";
import { createErrorInterceptor } from "../src/error-interceptor.js";
import { AccessClaimsSchema } from "../src/gen/user/v1/claims_pb.js";
import { UserService } from "../src/gen/user/v1/user_pb.js";
import { createNodeAdapter } from "../src/http/node-adapter.js";
import { createAccessLogInterceptor } from "../src/observability/access-log.js";
import { createTracingInterceptor } from "../src/observability/tracing.js";
import { createPortServer, type PortServer } from "../src/server.js";
import { openServiceContext, type ServiceContext } from "../src/wiring/app.js";
import { fixtureService } from "./auth/fixture-service.js";
import { callCode, memoryLogger, runBookstore, startTestApp, tempDir, testConfig, testPasswordCost, testSecret } from "./harness.js";

// The README's "Optional mode and roles" over real connections: a service declaring
// POLICY_OPTIONAL and required_roles (test/auth/fixture-service.ts), served on a loopback port by
// the bookstore's own port server and Node bridge, with the interceptors in the order
// src/routes.ts puts them and the bookstore's token service; its tokens come from a real Login of
// users added by `bookstore user add --roles`.

const dir = tempDir();
after(() => dir.remove());

const svc = fixtureService(undefined, {
  Browse: { policy: Policy.OPTIONAL },
  Restock: { policy: Policy.REQUIRED, roles: ["admin"] },
  Audit: { roles: ["admin", "auditor"] },
});
type FixtureClient = Record<"browse" | "restock" | "audit", (req: object, opts?: { headers: Record<string, string> }) => Promise<unknown>>;

describe("optional mode and required roles on a real port (Connect, gRPC and gRPC-Web)", () => {
  const secret = testSecret();
  const config = testConfig(dir.path, { accessSecret: secret, dataSource: `sqlite:${join(dir.path, "data", "bookstore.db")}` });
  const { logger, lines } = memoryLogger();
  const seen: (bigint | undefined)[] = [];
  let resources: ServiceContext;
  let server: PortServer;
  let baseUrl = "";
  const tokens: Record<string, string> = {};

  before(async () => {
    // as the README says: roles come from the user record
    for (const [name, roles] of [["alice", []], ["stock", ["admin"]], ["root", ["admin", "auditor"]]] as const) {
      const args = ["user", "add", name, ...(roles.length > 0 ? ["--roles", roles.join(",")] : [])];
      const r = await runBookstore(args, { cwd: dir.path, env: { ACCESS_SECRET: secret }, stdin: `${name}-password\n` });
      assert.equal(r.code, 0, r.stderr);
    }
    const users = await startTestApp(config, { only: "user" });
    try {
      const client = createClient(UserService, createConnectTransport({ baseUrl: users.userUrl, httpVersion: "1.1" }));
      for (const name of ["alice", "stock", "root"]) tokens[name] = (await client.login({ username: name, password: `${name}-password` })).accessToken;
    } finally {
      await users.close();
    }

    resources = await openServiceContext(config, { signs: false, logger, passwordCost: testPasswordCost });
    const record = (_req: unknown, ctx: HandlerContext) => {
      seen.push(getClaims(ctx, AccessClaimsSchema)?.userId);
      return {};
    };
    const interceptors = [
      createTracingInterceptor(),
      createAccessLogInterceptor(logger, resources.metrics),
      createErrorInterceptor(logger),
      createAuthInterceptor({
        policies: resolvePolicies([svc]),
        verify: resources.tokens.verify,
        isRevoked: (t) => resources.revocations.isRevoked(t),
        realm,
        onReject: ({ reason, method, tokenTag }) => logger.warn({ reason, method: methodName(method), tokenTag }, "access token rejected"),
        onDenied: ({ method, claims, missingRoles }) => logger.warn({ method: methodName(method), userId: Number(claims.userId), missingRoles }, "permission denied"),
      }),
    ];
    const handler = createNodeAdapter({ routes: (router) => router.service(svc, { browse: record, restock: record, audit: record } as never), interceptors });
    server = createPortServer(handler, { logger });
    baseUrl = `http://127.0.0.1:${await server.listen(0, "127.0.0.1")}`;
  });
  after(async () => {
    await server?.close(0);
    await resources?.close();
  });

  const bearer = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });
  const clients = () => ({
    connect: createClient(svc, createConnectTransport({ baseUrl, httpVersion: "1.1" })) as unknown as FixtureClient,
    grpc: createClient(svc, createGrpcTransport({ baseUrl })) as unknown as FixtureClient,
    grpcWeb: createClient(svc, createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })) as unknown as FixtureClient,
  });
  const code = callCode;
  /** A Connect JSON call as curl makes it: the HTTP status, the error's code and the challenge. */
  const raw = async (method: string, authorization?: string) => {
    const res = await fetch(`${baseUrl}/fixture.v1.FixtureService/${method}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(authorization === undefined ? {} : { authorization }) },
      body: "{}",
    });
    const body = (await res.json()) as { code?: string };
    return { status: res.status, code: body.code ?? "ok", challenge: res.headers.get("www-authenticate") };
  };

  test("optional: anonymous without a token, the claims with a valid one, refused with an invalid one", async () => {
    const forged = tokens.alice!.slice(0, -2) + (tokens.alice!.at(-2) === "A" ? "B" : "A") + tokens.alice!.at(-1);
    for (const [protocol, client] of Object.entries(clients())) {
      seen.length = 0;
      assert.equal(await code(client.browse({})), "ok", protocol);
      assert.equal(await code(client.browse({}, bearer(tokens.alice!))), "ok", protocol);
      assert.equal(await code(client.browse({}, { headers: { authorization: "   " } })), "ok", `${protocol}: a blank header is no token`);
      assert.deepEqual(seen, [undefined, 1n, undefined], `${protocol}: the handler saw nobody, then alice (id 1), then nobody`);
      assert.equal(await code(client.browse({}, bearer(forged))), "Unauthenticated", `${protocol}: a forged token`);
      assert.equal(await code(client.browse({}, bearer("not.a.token"))), "Unauthenticated", `${protocol}: a malformed token`);
      assert.equal(await code(client.browse({}, { headers: { authorization: "Basic YWxpY2U6eA==" } })), "Unauthenticated", `${protocol}: another scheme`);
      assert.equal(seen.length, 3, `${protocol}: no refused call reached the handler`);
    }
    assert.deepEqual(await raw("Browse"), { status: 200, code: "ok", challenge: null });
    const refused = await raw("Browse", "Bearer not.a.token");
    assert.equal(refused.status, 401);
    assert.equal(refused.code, "unauthenticated");
    assert.match(refused.challenge!, /^Bearer realm="bookstore", error="invalid_token"/);
  });

  test("required roles: a token lacking one is permission_denied (HTTP 403, gRPC 7); holding all of them passes", async () => {
    for (const [protocol, client] of Object.entries(clients())) {
      seen.length = 0;
      assert.equal(await code(client.restock({})), "Unauthenticated", `${protocol}: no token`);
      assert.equal(await code(client.restock({}, bearer(tokens.alice!))), "PermissionDenied", `${protocol}: no roles`);
      assert.equal(await code(client.restock({}, bearer(tokens.stock!))), "ok", `${protocol}: admin`);
      assert.equal(await code(client.audit({}, bearer(tokens.stock!))), "PermissionDenied", `${protocol}: admin alone is not admin and auditor`);
      assert.equal(await code(client.audit({}, bearer(tokens.root!))), "ok", `${protocol}: admin and auditor`);
      assert.deepEqual(seen, [2n, 3n], `${protocol}: only the allowed calls reached the handler`);
    }
    const denied = await raw("Restock", `Bearer ${tokens.alice}`);
    assert.deepEqual(denied, { status: 403, code: "permission_denied", challenge: 'Bearer realm="bookstore", error="insufficient_scope", scope="admin"' });
    assert.deepEqual(await raw("Audit", `Bearer ${tokens.root}`), { status: 200, code: "ok", challenge: null });
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === "permission denied");
    assert.ok(
      logged.some((l) => l.method === "fixture.v1.FixtureService/Audit" && l.userId === 2 && JSON.stringify(l.missingRoles) === '["auditor"]'),
      JSON.stringify(logged),
    );
    const rpc = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === "rpc" && l.code === "permission_denied");
    assert.equal(rpc.length, 3 * 2 + 1, "the access log records each refused call: two per protocol, and the raw one");
  });
});
