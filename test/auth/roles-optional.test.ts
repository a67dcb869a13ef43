import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createClient, createRouterTransport, type HandlerContext } from "@connectrpc/connect";
import { createAuthInterceptor, getClaims, Policy, PolicyError, resolvePolicies } from "protogate";
import { createTokenService } from "../../src/auth/tokens.js";
import { systemClock } from "../../src/clock.js";
import { AccessClaimsSchema } from "../../src/gen/user/v1/claims_pb.js";
import { fixtureService } from "./fixture-service.js";
import { callCode, testSecret } from "../harness.js";

const fixture = (methods: Record<string, { policy?: Policy; roles?: string[] }>) => fixtureService(undefined, methods);

describe("optional mode and required roles, declared in the proto", async () => {
  const tokens = await createTokenService({ secret: testSecret(), accessExpire: 600, clock: systemClock });
  const svc = fixture({ Browse: { policy: Policy.OPTIONAL }, Restock: { policy: Policy.REQUIRED, roles: ["admin"] }, Audit: { roles: ["admin", "auditor"] } });
  const seen: (bigint | undefined)[] = [];
  const record = (_req: unknown, ctx: HandlerContext) => {
    seen.push(getClaims(ctx, AccessClaimsSchema)?.userId);
    return {};
  };
  const interceptors = [createAuthInterceptor({ policies: resolvePolicies([svc]), verify: tokens.verify })];
  const client = createClient(svc, createRouterTransport((router) => router.service(svc, { browse: record, restock: record, audit: record } as never), { router: { interceptors } })) as unknown as Record<
    "browse" | "restock" | "audit",
    (req: object, opts?: { headers: Record<string, string> }) => Promise<unknown>
  >;
  const code = callCode;
  const as = async (userId: number, roles: string[]) => ({ headers: { authorization: `Bearer ${(await tokens.issue(userId, { roles })).token}` } });

  test("optional: anonymous without a token, claims with a valid one, refused with a bad one", async () => {
    seen.length = 0;
    assert.equal(await code(client.browse({})), "ok");
    assert.equal(await code(client.browse({}, await as(7, []))), "ok");
    assert.deepEqual(seen, [undefined, 7n]);
    assert.equal(await code(client.browse({}, { headers: { authorization: "Bearer forged.token.here" } })), "Unauthenticated");
  });

  test("required roles: missing ones are permission_denied (403), all present pass", async () => {
    assert.equal(await code(client.restock({})), "Unauthenticated");
    assert.equal(await code(client.restock({}, await as(1, []))), "PermissionDenied");
    assert.equal(await code(client.restock({}, await as(1, ["user"]))), "PermissionDenied");
    assert.equal(await code(client.restock({}, await as(1, ["admin"]))), "ok");
    assert.equal(await code(client.audit({}, await as(1, ["admin"]))), "PermissionDenied", "every listed role is needed");
    assert.equal(await code(client.audit({}, await as(1, ["auditor", "admin"]))), "ok");
  });

  test("a method missing from the policy table needs a token (the interceptor's fail-closed fallback)", async () => {
    const bare = [createAuthInterceptor({ policies: new Map(), verify: tokens.verify })];
    const open = createClient(svc, createRouterTransport((router) => router.service(svc, { browse: record, restock: record, audit: record } as never), { router: { interceptors: bare } })) as unknown as typeof client;
    seen.length = 0;
    assert.equal(await code(open.browse({})), "Unauthenticated", "declared optional, but unknown to this table: required");
    assert.equal(await code(open.browse({}, await as(9, []))), "ok");
    assert.deepEqual(seen, [9n], "the handler ran only for the token");
  });

  test("roles on a method that is not required refuse start-up", () => {
    for (const p of [Policy.PUBLIC, Policy.OPTIONAL]) {
      assert.throws(() => resolvePolicies([fixture({ Odd: { policy: p, roles: ["admin"] } })]), PolicyError);
    }
  });
});
