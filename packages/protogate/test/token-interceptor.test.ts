import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError, type ConnectRouter, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { createAuthInterceptor, getClaims, Policy, resolvePolicies } from "../src/index.js";
import { authFailureOf, createTokenInterceptor, type TokenStore } from "../src/client/index.js";
import { createJwtCodec, createKeyRing, hmacKey } from "../src/jwt/index.js";
import { ClaimsSchema, echoMethod, fixtureServices } from "./fixture.js";
import { startH2cServer, type H2cServer } from "./h2c-server.js";

const { TokenService: service } = fixtureServices([{ name: "TokenService", methods: { Required: {}, Refresh: { policy: Policy.PUBLIC } } }]);
const m = (name: string) => echoMethod(service!, name);

const key = await hmacKey("token-interceptor-test-secret-0123456789");
const codec = createJwtCodec({ keys: createKeyRing({ signing: key }), claims: ClaimsSchema, unknownClaims: "reject", lifetime: 600 });
const past = createJwtCodec({ keys: createKeyRing({ signing: key }), claims: ClaimsSchema, unknownClaims: "reject", lifetime: 600, clock: { now: () => Date.now() - 2 * 3600_000 } });
const forger = createJwtCodec({ keys: createKeyRing({ signing: await hmacKey("not-the-secret-0123456789abcdefghij", { kid: key.kid }) }), claims: ClaimsSchema, unknownClaims: "reject", lifetime: 600 });
const issue = async (userId: bigint, c = codec) => (await c.issue({ userId })).token;

/** What the server saw: each call's authorization header, by method. */
const seen: Record<string, (string | null)[]> = { Required: [], Refresh: [] };
function routes(router: ConnectRouter) {
  router.rpc(m("Required"), (req, ctx) => {
    seen.Required!.push(ctx.requestHeader.get("authorization"));
    return { text: req.text, who: String(getClaims(ctx, ClaimsSchema)?.userId) };
  });
  router.rpc(m("Refresh"), (req, ctx) => {
    seen.Refresh!.push(ctx.requestHeader.get("authorization"));
    return { text: req.text, who: "" };
  });
}

/** A token store over one variable; `refresh` gives `next()` after `delayMs`, counting calls. */
function store(initial: string | undefined, next: () => Promise<string>, delayMs = 50) {
  let token = initial;
  let refreshes = 0;
  const tokens: TokenStore = {
    accessToken: () => token,
    async refresh() {
      refreshes++;
      await sleep(delayMs);
      token = await next();
      return token;
    },
  };
  return { tokens, refreshes: () => refreshes, current: () => token };
}

const protocols: Record<string, (baseUrl: string, tokens: TokenStore) => Transport> = {
  Connect: (baseUrl, tokens) => createConnectTransport({ baseUrl, httpVersion: "2", interceptors: [createTokenInterceptor({ tokens })] }),
  gRPC: (baseUrl, tokens) => createGrpcTransport({ baseUrl, interceptors: [createTokenInterceptor({ tokens })] }),
};

for (const [name, transportFor] of Object.entries(protocols)) {
  describe(`client token interceptor over ${name}`, () => {
    let server: H2cServer;
    before(async () => {
      server = await startH2cServer(routes, [createAuthInterceptor({ policies: resolvePolicies([service!]), verify: codec.verify })]);
    });
    after(() => server.close());
    const call = (tokens: TokenStore, method = "Required", headers: Record<string, string> = {}) =>
      transportFor(server.baseUrl, tokens).unary(m(method), undefined, 5000, headers, { text: "hi" });

    test("sends the token; an expired one is refreshed once for 20 concurrent calls, each retried and served", async () => {
      const s = store(await issue(7n, past), () => issue(8n));
      const expiredToken = s.current()!;
      seen.Required!.length = 0;
      const results = await Promise.all(Array.from({ length: 20 }, () => call(s.tokens)));
      assert.deepEqual(new Set(results.map((r) => r.message.who)), new Set(["8"]));
      assert.equal(s.refreshes(), 1, "one refresh shared by all");
      assert.equal(seen.Required!.length, 20, "the handler ran once per call: only the retries got through");
      assert.ok(seen.Required!.every((h) => h === `Bearer ${s.current()}`));
      assert.notEqual(s.current(), expiredToken);
      // later calls use the new token at once
      assert.equal((await call(s.tokens)).message.who, "8");
      assert.equal(s.refreshes(), 1);
    });

    test("a call that finds the token renewed by another retries with it, without refreshing again", async () => {
      const expired = await issue(7n, past);
      const fresh = await issue(9n);
      let token = expired;
      let reads = 0;
      let refreshes = 0;
      // the token is renewed elsewhere between the call's first read and its refusal
      const tokens: TokenStore = {
        accessToken: () => (reads++ === 0 ? expired : token),
        async refresh() {
          refreshes++;
          return fresh;
        },
      };
      token = fresh;
      assert.equal((await call(tokens)).message.who, "9");
      assert.equal(refreshes, 0);
    });

    test("a failed refresh fails the call with its error and nothing is retried", async () => {
      const refused = new ConnectError("refresh token revoked", Code.Unauthenticated);
      const s = store(await issue(7n, past), () => Promise.reject(refused));
      seen.Required!.length = 0;
      await assert.rejects(call(s.tokens), (err) => err === refused);
      assert.equal(s.refreshes(), 1);
      assert.equal(seen.Required!.length, 0);
    });

    test("a token still expired after the refresh fails the call: one retry, no loop", async () => {
      const s = store(await issue(7n, past), () => issue(8n, past));
      await assert.rejects(call(s.tokens), (err) => authFailureOf(err) === "TOKEN_EXPIRED");
      assert.equal(s.refreshes(), 1);
    });

    test("only TOKEN_EXPIRED refreshes: a forged or missing token fails as it is", async () => {
      for (const initial of [await issue(7n, forger), undefined]) {
        const s = store(initial, () => issue(8n));
        await assert.rejects(call(s.tokens), (err) => err instanceof ConnectError && err.code === Code.Unauthenticated);
        assert.equal(s.refreshes(), 0);
      }
    });

    test("a public method gets no token, and a call's own authorization header is kept", async () => {
      const s = store(await issue(7n), () => issue(8n));
      seen.Refresh!.length = 0;
      await call(s.tokens, "Refresh");
      assert.deepEqual(seen.Refresh, [null], "the token is not sent where the proto says public");
      const own = await issue(5n);
      assert.equal((await call(s.tokens, "Required", { authorization: `Bearer ${own}` })).message.who, "5");
    });
  });
}
