import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { create, createFileRegistry, type DescMethod } from "@bufbuild/protobuf";
import { FieldDescriptorProto_Label as FieldLabel, FieldDescriptorProto_Type as FieldType, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createContextValues, createRouterTransport, type ConnectRouter, type HandlerContext, type Interceptor, type Transport, type UnaryRequest } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import {
  AuthError,
  authFailureOf,
  createAuthInterceptor,
  defaultMessages,
  getClaims,
  methodName,
  Policy,
  requireClaims,
  resolvePolicies,
  tokenTag,
  type AuthFailure,
  type AuthInterceptorOptions,
  type PolicyTable,
} from "../src/index.js";
import { ErrorInfoSchema } from "../src/gen/google/rpc/error_details_pb.js";
import { createJwtCodec, createKeyRing, hmacKey, withVerifiedTokenCache } from "../src/jwt/index.js";
import { ClaimsSchema, echoMethod, fixtureServices, Tier, type Claims, type ClaimsInit, type EchoResponse } from "./fixture.js";
import { startH2cServer } from "./h2c-server.js";

const { GateService: gate } = fixtureServices([
  {
    name: "GateService",
    methods: {
      Public: { policy: Policy.PUBLIC },
      PublicButRequiresClaims: { policy: Policy.PUBLIC },
      Optional: { policy: Policy.OPTIONAL },
      Required: { policy: Policy.REQUIRED },
      Undeclared: {},
      Admin: { roles: ["admin", "ops"] },
      // declared public, but left out of the policy table below: it must still need a token
      Unlisted: { policy: Policy.PUBLIC },
      // left out too: it must still need its roles
      UnlistedAdmin: { roles: ["admin"] },
    },
  },
]);
const m = (name: string) => echoMethod(gate!, name);

/** The policy table the server is given: every method but `Unlisted` and `UnlistedAdmin`. */
const policies: PolicyTable = (() => {
  const all = new Map(resolvePolicies([gate!]));
  assert.equal(all.get(m("Unlisted"))?.policy, "public", "the proto declares Unlisted public");
  all.delete(m("Unlisted"));
  all.delete(m("UnlistedAdmin"));
  return all;
})();

const secret = "interceptor-test-secret-0123456789abcdef";
const key = await hmacKey(secret);
const codec = createJwtCodec({ keys: createKeyRing({ signing: key }), claims: ClaimsSchema, unknownClaims: "reject", lifetime: 600 });
// the same kid, another secret: a forgery reaches the signature check
const forger = createJwtCodec({ keys: createKeyRing({ signing: await hmacKey("not-the-secret-0123456789abcdefghij", { kid: key.kid }) }), claims: ClaimsSchema, unknownClaims: "reject", lifetime: 600 });
// issued two hours ago for ten minutes (the verifier's clock is the real one: nobody sleeps)
const past = createJwtCodec({ keys: createKeyRing({ signing: key }), claims: ClaimsSchema, unknownClaims: "reject", lifetime: 600, clock: { now: () => Date.now() - 2 * 3600_000 } });

const tokenFor = async (init: ClaimsInit, c = codec) => (await c.issue(init)).token;
const alice = await tokenFor({ userId: 42n, roles: ["admin", "ops"], tier: Tier.FREE });
const bob = await tokenFor({ userId: 7n, roles: ["ops"], tier: Tier.PRO });
const carol = await tokenFor({ userId: 9n });

const describeClaims = (claims: Claims | undefined) => (claims === undefined ? "anonymous" : `user:${claims.userId} roles:${claims.roles.join(",")}`);

/** What handlers saw, by method name. */
type Seen = Record<string, number>;

function routes(seen: Seen) {
  return (router: ConnectRouter) => {
    const serve = (name: string, who: (ctx: HandlerContext) => string) =>
      router.rpc(m(name), (req, ctx) => {
        seen[name] = (seen[name] ?? 0) + 1;
        return { text: req.text, who: who(ctx) };
      });
    serve("Public", (ctx) => describeClaims(getClaims(ctx, ClaimsSchema)));
    serve("PublicButRequiresClaims", (ctx) => describeClaims(requireClaims(ctx, ClaimsSchema)));
    serve("Optional", (ctx) => describeClaims(getClaims(ctx, ClaimsSchema)));
    for (const name of ["Required", "Undeclared", "Admin", "Unlisted", "UnlistedAdmin"]) {
      serve(name, (ctx) => {
        const claims: Claims = requireClaims(ctx, ClaimsSchema); // typed by the schema
        return describeClaims(claims);
      });
    }
  };
}

interface Harness {
  call(method: string, authorization?: string): Promise<{ ok: EchoResponse } | { err: ConnectError }>;
  seen: Seen;
  close(): Promise<void>;
}

type Open = (options: Partial<AuthInterceptorOptions<Claims>>, outer?: Interceptor) => Promise<Harness>;

function harness(transport: Transport, seen: Seen, close: () => Promise<void>): Harness {
  return {
    seen,
    close,
    async call(method, authorization) {
      try {
        const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
        const res = await transport.unary(m(method), undefined, 5000, headers, { text: "hi" });
        return { ok: res.message };
      } catch (err) {
        return { err: ConnectError.from(err) };
      }
    },
  };
}

const interceptorWith = (options: Partial<AuthInterceptorOptions<Claims>>) => createAuthInterceptor<Claims>({ policies, verify: codec.verify, ...options });

/** The same tests in memory, and over a real loopback port with the Connect and the gRPC protocol (both HTTP/2). */
const transports: Record<string, Open> = {
  "in memory (createRouterTransport)": async (options, outer) => {
    const seen: Seen = {};
    const interceptors = [...(outer ? [outer] : []), interceptorWith(options)];
    return harness(createRouterTransport(routes(seen), { router: { interceptors } }), seen, async () => {});
  },
  // a cached token is answered at once (not a promise): the interceptor's path without a wait
  "in memory, through the verified-token cache": async (options, outer) => {
    const seen: Seen = {};
    const cached = withVerifiedTokenCache(codec, { maxEntries: 100 });
    const interceptors = [...(outer ? [outer] : []), createAuthInterceptor<Claims>({ policies, verify: cached.verify, peek: cached.peek, ...options })];
    return harness(createRouterTransport(routes(seen), { router: { interceptors } }), seen, async () => {});
  },
  "Connect protocol over h2c": async (options, outer) => {
    const seen: Seen = {};
    const server = await startH2cServer(routes(seen), [...(outer ? [outer] : []), interceptorWith(options)]);
    return harness(createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "2" }), seen, server.close);
  },
  "gRPC over h2c": async (options, outer) => {
    const seen: Seen = {};
    const server = await startH2cServer(routes(seen), [...(outer ? [outer] : []), interceptorWith(options)]);
    return harness(createGrpcTransport({ baseUrl: server.baseUrl }), seen, server.close);
  },
};

const ok = (r: Awaited<ReturnType<Harness["call"]>>): EchoResponse => {
  if ("err" in r) assert.fail(`expected success, got ${r.err.code === undefined ? "" : Code[r.err.code]}: ${r.err.rawMessage}`);
  return r.ok;
};
const refused = (r: Awaited<ReturnType<Harness["call"]>>, code: Code): ConnectError => {
  if ("ok" in r) assert.fail(`expected ${Code[code]}, the call succeeded as ${r.ok.who}`);
  assert.equal(Code[r.err.code], Code[code], r.err.rawMessage);
  return r.err;
};

type RejectEvent = Parameters<NonNullable<AuthInterceptorOptions["onReject"]>>[0];
type DeniedEvent = Parameters<NonNullable<AuthInterceptorOptions<Claims>["onDenied"]>>[0];

/** Every string reachable in an event, but the method descriptor (which is checked by identity). */
function stringsIn(value: unknown, seen = new Set<unknown>()): string[] {
  if (typeof value === "string") return [value];
  if (typeof value === "bigint" || typeof value === "number") return [String(value)];
  if (typeof value !== "object" || value === null || seen.has(value)) return [];
  seen.add(value);
  if ((value as { kind?: unknown }).kind === "rpc") return [];
  if (value instanceof Uint8Array) return [Buffer.from(value).toString("base64url")];
  return Object.values(value).flatMap((v) => stringsIn(v, seen));
}

for (const [name, open] of Object.entries(transports)) {
  describe(`auth interceptor: ${name}`, () => {
    let h: Harness;
    const rejects: RejectEvent[] = [];
    const denied: DeniedEvent[] = [];
    before(async () => {
      h = await open({ onReject: (e) => rejects.push(e), onDenied: (e) => denied.push(e) });
    });
    after(() => h.close());

    test("a public method passes without a token, and does not read one sent to it", async () => {
      assert.equal(ok(await h.call("Public")).who, "anonymous");
      assert.equal(ok(await h.call("Public", `Bearer ${alice}`)).who, "anonymous");
      assert.equal(ok(await h.call("Public", "Bearer not-a-token")).who, "anonymous");
      assert.equal(rejects.length, 0);
    });

    test("requireClaims keeps a handler from running as nobody, even on a public method", async () => {
      const err = refused(await h.call("PublicButRequiresClaims"), Code.Unauthenticated);
      assert.equal(err.rawMessage, defaultMessages.unauthenticated);
      assert.equal(err.metadata.get("www-authenticate"), "Bearer");
    });

    test("an optional method runs anonymously without a token, with the claims with one, and refuses a bad one", async () => {
      assert.equal(ok(await h.call("Optional")).who, "anonymous");
      assert.equal(ok(await h.call("Optional", "")).who, "anonymous", "an empty header is no token");
      assert.equal(ok(await h.call("Optional", " \t ")).who, "anonymous", "nor is white space");
      assert.equal(ok(await h.call("Optional", `Bearer ${alice}`)).who, "user:42 roles:admin,ops");
      assert.equal(ok(await h.call("Optional", carol)).who, "user:9 roles:", "a raw token, as go-zero clients send it");
      const calls = h.seen.Optional;
      const err = refused(await h.call("Optional", `Bearer ${await tokenFor({ userId: 1n }, forger)}`), Code.Unauthenticated);
      assert.equal(err.rawMessage, defaultMessages.unauthenticated);
      refused(await h.call("Optional", "Bearer x.y"), Code.Unauthenticated);
      assert.equal(h.seen.Optional, calls, "the handler did not run for a refused token");
    });

    test("a required method refuses a missing, malformed, forged or expired token; only missing and expired say so", async () => {
      rejects.length = 0;
      const forged = await tokenFor({ userId: 42n, roles: ["admin"] }, forger);
      const expired = await tokenFor({ userId: 42n }, past);
      const cases: [string | undefined, string, AuthFailure, string][] = [
        [undefined, "missing", "TOKEN_MISSING", "Bearer"],
        ["Basic dXNlcjpwYXNz", "malformed", "TOKEN_INVALID", 'Bearer error="invalid_token"'],
        [`Bearer ${forged}`, "bad_signature", "TOKEN_INVALID", 'Bearer error="invalid_token"'],
        [`Bearer ${expired}`, "expired", "TOKEN_EXPIRED", 'Bearer error="invalid_token", error_description="the access token expired"'],
        [`Bearer ${alice.slice(0, -2)}`, "malformed", "TOKEN_INVALID", 'Bearer error="invalid_token"'], // 41 signature characters are not base64url
      ];
      const seenBefore = h.seen.Required ?? 0;
      const refusals: ConnectError[] = [];
      for (const [authorization] of cases) refusals.push(refused(await h.call("Required", authorization), Code.Unauthenticated));
      assert.equal(refusals.length, cases.length);
      refusals.forEach((err, i) => {
        const [, , failure, challenge] = cases[i]!;
        assert.equal(err.rawMessage, defaultMessages.unauthenticated, "one constant message");
        assert.equal(err.metadata.get("www-authenticate"), challenge);
        assert.equal(authFailureOf(err), failure, "the ErrorInfo detail, read back from the wire");
        assert.deepEqual(
          err.findDetails(ErrorInfoSchema).map((d) => [d.reason, d.domain, d.metadata]),
          [[failure, "protogate", {}]],
        );
      });
      assert.equal(h.seen.Required ?? 0, seenBefore, "the handler never ran");
      assert.deepEqual(
        rejects.map((e) => e.reason),
        cases.map(([, reason]) => reason),
      );
      assert.equal(ok(await h.call("Required", `Bearer ${alice}`)).who, "user:42 roles:admin,ops");
    });

    test("onReject is told the reason, the method and a 12-character tag, never the token", async () => {
      rejects.length = 0;
      const forged = await tokenFor({ userId: 42n, roles: ["admin"], sid: "secret-session" }, forger);
      const expired = await tokenFor({ userId: 42n, sid: "secret-session" }, past);
      for (const token of [forged, expired]) refused(await h.call("Required", `Bearer ${token}`), Code.Unauthenticated);
      refused(await h.call("Required"), Code.Unauthenticated);
      assert.equal(rejects.length, 3);
      const [first, second, third] = rejects as [RejectEvent, RejectEvent, RejectEvent];
      assert.equal(first.tokenTag, tokenTag(forged));
      assert.equal(second.tokenTag, tokenTag(expired));
      assert.equal(third.tokenTag, undefined, "no token, no tag");
      for (const e of [first, second]) {
        assert.match(e.tokenTag!, /^[A-Za-z0-9_-]{12}$/);
        assert.equal(e.method, m("Required"));
        assert.equal(methodName(e.method), "fixture.v1.GateService/Required");
      }
      const strings = rejects.flatMap((e) => stringsIn(e));
      assert.ok(strings.length >= 5, "the events were searched"); // 3 reasons, 2 tags
      for (const s of strings) {
        for (const token of [forged, expired]) {
          for (const part of token.split(".")) assert.ok(!s.includes(part), `an event carries part of the token: ${s}`);
        }
        assert.ok(!s.includes("secret-session"), "an event carries a claim");
      }
    });

    test("a method without a declaration needs a token", async () => {
      refused(await h.call("Undeclared"), Code.Unauthenticated);
      assert.equal(ok(await h.call("Undeclared", `Bearer ${carol}`)).who, "user:9 roles:");
    });

    test("a method missing from the policy table needs a token, though its proto says public (fail closed)", async () => {
      const before = h.seen.Unlisted ?? 0;
      const err = refused(await h.call("Unlisted"), Code.Unauthenticated);
      assert.equal(err.metadata.get("www-authenticate"), "Bearer");
      refused(await h.call("Unlisted", "Bearer a.b.c"), Code.Unauthenticated);
      assert.equal(h.seen.Unlisted ?? 0, before, "the handler never ran");
      assert.equal(ok(await h.call("Unlisted", `Bearer ${carol}`)).who, "user:9 roles:");
    });

    test("a method missing from the policy table keeps the roles its proto requires", async () => {
      refused(await h.call("UnlistedAdmin"), Code.Unauthenticated);
      refused(await h.call("UnlistedAdmin", `Bearer ${bob}`), Code.PermissionDenied);
      assert.equal(ok(await h.call("UnlistedAdmin", `Bearer ${alice}`)).who, "user:42 roles:admin,ops");
    });

    test("required_roles: a token lacking one is permission_denied (onDenied told which), one holding all passes", async () => {
      denied.length = 0;
      rejects.length = 0;
      const before = h.seen.Admin ?? 0;
      const lacksAdmin = refused(await h.call("Admin", `Bearer ${bob}`), Code.PermissionDenied);
      assert.equal(lacksAdmin.rawMessage, defaultMessages.permissionDenied);
      // RFC 6750: the roles the method requires are the scope the caller lacks
      assert.equal(lacksAdmin.metadata.get("www-authenticate"), 'Bearer error="insufficient_scope", scope="admin ops"');
      assert.equal(authFailureOf(lacksAdmin), "ROLE_MISSING");
      assert.deepEqual(lacksAdmin.findDetails(ErrorInfoSchema)[0]?.metadata, { scope: "admin ops" });
      refused(await h.call("Admin", `Bearer ${carol}`), Code.PermissionDenied);
      assert.equal(h.seen.Admin ?? 0, before, "the handler never ran");
      assert.equal(denied.length, 2);
      assert.deepEqual(denied[0]!.missingRoles, ["admin"]);
      assert.equal(denied[0]!.claims.userId, 7n);
      assert.equal(denied[0]!.method, m("Admin"));
      assert.deepEqual(denied[1]!.missingRoles, ["admin", "ops"]);
      assert.equal(rejects.length, 0, "a missing role is not a token refusal");
      // no token at all is still unauthenticated, not permission_denied
      refused(await h.call("Admin"), Code.Unauthenticated);
      assert.equal(ok(await h.call("Admin", `Bearer ${alice}`)).who, "user:42 roles:admin,ops");
    });

    test("a custom roles() source replaces the claims' roles", async () => {
      const custom = await open({ roles: (claims) => (claims.tier === Tier.PRO ? ["admin", "ops"] : []) });
      try {
        assert.equal(ok(await custom.call("Admin", `Bearer ${bob}`)).who, "user:7 roles:ops", "PRO tier holds both roles");
        refused(await custom.call("Admin", `Bearer ${alice}`), Code.PermissionDenied);
      } finally {
        await custom.close();
      }
    });

    test("a revoked token is unauthenticated, reported as revoked", async () => {
      const events: RejectEvent[] = [];
      const asked: bigint[] = [];
      const revoking = await open({
        isRevoked: (t) => {
          asked.push(t.claims.userId);
          return t.claims.userId === 42n;
        },
        onReject: (e) => events.push(e),
      });
      try {
        const err = refused(await revoking.call("Required", `Bearer ${alice}`), Code.Unauthenticated);
        assert.equal(err.rawMessage, defaultMessages.unauthenticated);
        assert.equal(err.metadata.get("www-authenticate"), 'Bearer error="invalid_token"');
        assert.equal(authFailureOf(err), "TOKEN_REVOKED");
        assert.deepEqual(
          events.map((e) => [e.reason, e.tokenTag]),
          [["revoked", tokenTag(alice)]],
        );
        assert.equal(ok(await revoking.call("Required", `Bearer ${carol}`)).who, "user:9 roles:");
        // an optional method with a revoked token is refused too, not run anonymously
        refused(await revoking.call("Optional", `Bearer ${alice}`), Code.Unauthenticated);
        assert.deepEqual(asked, [42n, 9n, 42n]);
      } finally {
        await revoking.close();
      }
    });

    test("a verifier that cannot read its keys makes the call unavailable, not unauthenticated", async () => {
      const events: RejectEvent[] = [];
      const down = await open({
        verify: () => {
          throw new AuthError("unavailable");
        },
        onReject: (e) => events.push(e),
      });
      try {
        const err = refused(await down.call("Required", `Bearer ${alice}`), Code.Unavailable);
        assert.equal(err.rawMessage, defaultMessages.unavailable);
        assert.equal(err.metadata.get("www-authenticate"), null);
        assert.equal(events.length, 0);
        // a missing token is still the caller's fault
        refused(await down.call("Required"), Code.Unauthenticated);
      } finally {
        await down.close();
      }
    });

    test("an error that is not an AuthError passes through unchanged", async () => {
      const thrown = new ConnectError("the store is on fire", Code.DataLoss);
      const caught: unknown[] = [];
      const outer: Interceptor = (next) => async (req) => {
        try {
          return await next(req);
        } catch (err) {
          caught.push(err);
          throw err;
        }
      };
      const failing = await open(
        {
          verify: () => {
            throw thrown;
          },
        },
        outer,
      );
      try {
        const err = refused(await failing.call("Required", `Bearer ${alice}`), Code.DataLoss);
        assert.equal(err.rawMessage, "the store is on fire");
        assert.equal(caught.length, 1);
        assert.equal(caught[0], thrown, "the very error the verifier threw");
      } finally {
        await failing.close();
      }
    });

    test("the realm and the messages can be configured", async () => {
      const messages = { unauthenticated: "log in first", permissionDenied: "not for you", unavailable: "try later" };
      const custom = await open({
        realm: "bookstore",
        messages,
        isRevoked: async (t) => {
          if (t.claims.userId === 9n) throw new AuthError("unavailable");
          return false;
        },
      });
      try {
        const unauthenticated = refused(await custom.call("Required"), Code.Unauthenticated);
        assert.equal(unauthenticated.rawMessage, "log in first");
        assert.equal(unauthenticated.metadata.get("www-authenticate"), 'Bearer realm="bookstore"');
        assert.equal(refused(await custom.call("Admin", `Bearer ${bob}`), Code.PermissionDenied).rawMessage, "not for you");
        assert.equal(refused(await custom.call("Required", `Bearer ${carol}`), Code.Unavailable).rawMessage, "try later");
      } finally {
        await custom.close();
      }
      // one message overridden leaves the others at their defaults
      const partial = await open({ messages: { permissionDenied: "nope" } });
      try {
        assert.equal(refused(await partial.call("Required"), Code.Unauthenticated).rawMessage, defaultMessages.unauthenticated);
        assert.equal(refused(await partial.call("Admin", `Bearer ${bob}`), Code.PermissionDenied).rawMessage, "nope");
      } finally {
        await partial.close();
      }
    });

    test("requireClaims on an anonymous call refuses with the interceptor's realm and message", async () => {
      const custom = await open({ realm: "gate", messages: { unauthenticated: "log in first" } });
      try {
        const err = refused(await custom.call("PublicButRequiresClaims"), Code.Unauthenticated);
        assert.equal(err.rawMessage, "log in first");
        assert.equal(err.metadata.get("www-authenticate"), 'Bearer realm="gate"');
      } finally {
        await custom.close();
      }
    });

    test("a realm's quotes and backslashes are escaped in WWW-Authenticate", async () => {
      const custom = await open({ realm: 'the "gate" \\ east' });
      try {
        const err = refused(await custom.call("Required"), Code.Unauthenticated);
        assert.equal(err.metadata.get("www-authenticate"), 'Bearer realm="the \\"gate\\" \\\\ east"');
      } finally {
        await custom.close();
      }
    });
  });
}

test("a realm that cannot be a quoted-string (line breaks, control or non-ASCII characters, too long) refuses at creation", () => {
  for (const realm of ["a\r\nSet-Cookie: x=1", "tab\there", "caf\u00e9", "x".repeat(257)]) {
    assert.throws(() => interceptorWith({ realm }), TypeError, JSON.stringify(realm));
  }
  interceptorWith({ realm: "x".repeat(256) });
});

test("methodName names a method as logs do", () => {
  assert.equal(methodName(m("Admin") as DescMethod), "fixture.v1.GateService/Admin");
});

/** Claims whose `roles` is one string, and claims whose `roles` are numbers. */
const oddRolesSchemas = (() => {
  const field = (name: string, number: number, type: FieldType, label = FieldLabel.OPTIONAL) => ({ name, number, type, label, jsonName: name === "user_id" ? "userId" : name });
  const file = create(FileDescriptorProtoSchema, {
    name: "fixture/v1/odd_roles.proto",
    package: "fixture.v1",
    syntax: "proto3",
    messageType: [
      { name: "SingleRole", field: [field("user_id", 1, FieldType.INT64), field("roles", 2, FieldType.STRING)] },
      { name: "NumericRoles", field: [field("user_id", 1, FieldType.INT64), field("roles", 2, FieldType.INT32, FieldLabel.REPEATED)] },
    ],
  });
  const registry = createFileRegistry(file, () => undefined);
  return { single: registry.getMessage("fixture.v1.SingleRole")!, numeric: registry.getMessage("fixture.v1.NumericRoles")! };
})();

test("a `roles` claim that is not a list of strings holds no role: one string is not split or searched", async () => {
  const refusals: string[] = [];
  for (const [kind, schema, roles] of [
    ["one string", oddRolesSchemas.single, "superadmin, ops"],
    ["numbers", oddRolesSchemas.numeric, [1, 2]],
  ] as const) {
    const odd = createJwtCodec({ keys: createKeyRing({ signing: key }), claims: schema, unknownClaims: "reject", lifetime: 600 });
    const denied: (readonly string[])[] = [];
    const interceptor = createAuthInterceptor({ policies, verify: odd.verify, onDenied: (e) => denied.push(e.missingRoles) });
    const transport = createRouterTransport((router) => router.rpc(m("Admin"), () => ({ text: "served" })), { router: { interceptors: [interceptor] } });
    const token = (await odd.issue({ userId: 1n, roles } as never)).token;
    try {
      await transport.unary(m("Admin"), undefined, 5000, { authorization: `Bearer ${token}` }, { text: "hi" });
      refusals.push(`${kind}: served`);
    } catch (err) {
      refusals.push(`${kind}: ${Code[ConnectError.from(err).code]}`);
    }
    assert.deepEqual(denied, [["admin", "ops"]], kind);
  }
  assert.deepEqual(refusals, ["one string: PermissionDenied", "numbers: PermissionDenied"]);
});

test("a verified token and a revocation check that answer at once cost the call no wait; a promise from either is waited for", async () => {
  const verified = await codec.verify(alice);
  let reached = 0;
  const next = (async () => {
    reached++;
    return {};
  }) as unknown as Parameters<Interceptor>[0];
  const request = () =>
    ({ stream: false, method: m("Required"), service: gate, header: new Headers({ authorization: `Bearer ${alice}` }), contextValues: createContextValues(), message: {} }) as unknown as UnaryRequest;
  // a JavaScript check that returns nothing counts as "not revoked", as an awaited one did
  for (const isRevoked of [() => false, () => undefined as unknown as boolean, undefined]) {
    reached = 0;
    const call = createAuthInterceptor<Claims>({ policies, verify: () => verified, isRevoked })(next)(request());
    assert.equal(reached, 1, "the handler's turn came in the same tick");
    await call;
  }
  for (const [verify, isRevoked] of [
    [async () => verified, () => false],
    [() => verified, async () => false],
    [() => ({ then: (ok: (v: typeof verified) => void) => ok(verified) }), () => false],
  ] as const) {
    reached = 0;
    const call = createAuthInterceptor<Claims>({ policies, verify: verify as () => typeof verified, isRevoked })(next)(request());
    assert.equal(reached, 0, "waited for");
    await call;
    assert.equal(reached, 1);
  }
  // refused at once or after the wait, with the same error
  reached = 0;
  for (const isRevoked of [() => true, async () => true]) {
    const err = await createAuthInterceptor<Claims>({ policies, verify: () => verified, isRevoked })(next)(request()).then(
      () => assert.fail("served"),
      (e: unknown) => ConnectError.from(e),
    );
    assert.equal(err.code, Code.Unauthenticated);
  }
  assert.equal(reached, 0);
});

test("peek is tried first for `Bearer <token>`: a token it knows is admitted (and still checked) without verify; any other answer or header form goes through verify", async () => {
  const verified = await codec.verify(alice);
  const calls = { verify: 0, peek: [] as string[] };
  const next = (async () => ({})) as unknown as Parameters<Interceptor>[0];
  const request = (authorization: string) =>
    ({ stream: false, method: m("Required"), service: gate, header: new Headers({ authorization }), contextValues: createContextValues(), message: {} }) as unknown as UnaryRequest;
  const tags: (string | undefined)[] = [];
  const interceptor = (revoked: boolean) =>
    createAuthInterceptor<Claims>({
      policies,
      onReject: (e) => tags.push(e.tokenTag),
      verify: (token) => {
        calls.verify++;
        return codec.verify(token);
      },
      peek: (token) => {
        calls.peek.push(token);
        return token === alice ? verified : undefined;
      },
      isRevoked: () => revoked,
    })(next);
  await interceptor(false)(request(`Bearer ${alice}`));
  assert.deepEqual([calls.verify, calls.peek], [0, [alice]], "known: no verify");
  const refusedErr = await interceptor(true)(request(`Bearer ${alice}`)).then(
    () => assert.fail("a revoked token was served"),
    (e: unknown) => ConnectError.from(e),
  );
  assert.equal(refusedErr.code, Code.Unauthenticated, "a known token is still checked for revocation");
  assert.deepEqual(tags, [tokenTag(alice)], "told of the token's refusal by the token's tag, not the header's");
  calls.peek.length = 0;
  for (const header of [alice, `bearer ${alice}`, `Bearer  ${alice}`]) await interceptor(false)(request(header));
  assert.equal(calls.verify, 3, "other forms of the header are read and verified");
  assert.deepEqual(calls.peek, [` ${alice}`], "peek is asked only what follows `Bearer `");
  const forged = `${alice.slice(0, -2)}AA`;
  const err = await interceptor(false)(request(`Bearer ${forged}`)).then(
    () => assert.fail("a forged token was served"),
    (e: unknown) => ConnectError.from(e),
  );
  assert.equal(err.code, Code.Unauthenticated);
  assert.equal(calls.verify, 4, "a token peek does not know is verified");
});
