import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { createJwtCodec, createKeyRing, hmacKey } from "protogate/jwt";
import { GreeterClaimsSchema, GreeterService } from "../src/gen/greeter/v1/greeter_pb.js";
import { startGreeter } from "../src/server.js";

// The greeter over real sockets on port 0: the generated client over Connect (HTTP/1.1 and
// HTTP/2), gRPC (HTTP/2) and gRPC-Web (HTTP/1.1), and plain fetch with JSON.

const secret = "a-test-secret-of-at-least-32-characters!";
let greeter: Awaited<ReturnType<typeof startGreeter>>;
const sessions: Http2SessionManager[] = [];
const tokens = { admin: "", user: "", expired: "", forged: "" };

before(async () => {
  greeter = await startGreeter({ port: 0, secret });
  tokens.admin = (await greeter.tokens.issue({ name: "Ada", roles: ["admin"] })).token;
  tokens.user = (await greeter.tokens.issue({ name: "Bob", roles: ["reader"] })).token;
  // the same claims, signed two hours ago with the right secret, and now with another one
  const twoHoursAgo = { now: () => Date.now() - 2 * 3600_000 };
  const codec = async (s: string, clock?: { now(): number }) =>
    createJwtCodec({ keys: createKeyRing({ signing: await hmacKey(s) }), claims: GreeterClaimsSchema, unknownClaims: "reject", lifetime: 3600, clock });
  tokens.expired = (await (await codec(secret, twoHoursAgo)).issue({ name: "Ada", roles: ["admin"] })).token;
  tokens.forged = (await (await codec("not-the-greeter-secret-but-as-long-as-it")).issue({ name: "Ada", roles: ["admin"] })).token;
});

after(async () => {
  for (const s of sessions) s.abort();
  await greeter.close();
});

const h2 = () => {
  const sessionManager = new Http2SessionManager(greeter.url);
  sessions.push(sessionManager);
  return sessionManager;
};

const transports: Record<string, () => Transport> = {
  "Connect over HTTP/1.1": () => createConnectTransport({ baseUrl: greeter.url, httpVersion: "1.1", defaultTimeoutMs: 5000 }),
  "Connect over HTTP/2": () => createConnectTransport({ baseUrl: greeter.url, httpVersion: "2", sessionManager: h2(), defaultTimeoutMs: 5000 }),
  "gRPC over HTTP/2": () => createGrpcTransport({ baseUrl: greeter.url, sessionManager: h2(), defaultTimeoutMs: 5000 }),
  "gRPC-Web over HTTP/1.1": () => createGrpcWebTransport({ baseUrl: greeter.url, httpVersion: "1.1", defaultTimeoutMs: 5000 }),
};

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

async function refusal(call: Promise<unknown>): Promise<ConnectError> {
  const err = await call.then(
    () => assert.fail("the call succeeded"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConnectError, `a ConnectError, not ${String(err)}`);
  return err;
}

for (const [name, transport] of Object.entries(transports)) {
  describe(name, () => {
    let client: Client<typeof GreeterService>;
    before(() => (client = createClient(GreeterService, transport())));

    test("the public method needs no token", async () => {
      assert.equal((await client.hello({ name: "world" })).message, "Hello, world!");
      // and reads none: a token that is not even a token is never looked at
      assert.equal((await client.hello({ name: "you" }, bearer("garbage"))).message, "Hello, you!");
    });

    test("the optional method runs anonymously without a token and greets the token's name with one", async () => {
      assert.equal((await client.greet({})).message, "Hello, stranger!");
      assert.equal((await client.greet({}, bearer(tokens.user))).message, "Hello, Bob!");
    });

    test("the optional method still refuses a token that does not verify", async () => {
      const err = await refusal(client.greet({}, bearer(tokens.forged)));
      assert.equal(err.code, Code.Unauthenticated);
    });

    test("the admin method: unauthenticated without a token", async () => {
      const err = await refusal(client.setGreeting({ greeting: "Howdy" }));
      assert.equal(err.code, Code.Unauthenticated);
      assert.equal(err.rawMessage, "invalid or missing access token");
    });

    test("the admin method: expired and forged tokens are told exactly the same", async () => {
      const expired = await refusal(client.setGreeting({ greeting: "Howdy" }, bearer(tokens.expired)));
      const forged = await refusal(client.setGreeting({ greeting: "Howdy" }, bearer(tokens.forged)));
      assert.equal(expired.code, Code.Unauthenticated);
      assert.deepEqual([forged.code, forged.rawMessage], [expired.code, expired.rawMessage]);
    });

    test("the admin method: permission_denied for a token without the admin role", async () => {
      const err = await refusal(client.setGreeting({ greeting: "Howdy" }, bearer(tokens.user)));
      assert.equal(err.code, Code.PermissionDenied);
      assert.equal(err.rawMessage, "permission denied");
    });

    test("the admin method: an admin's token changes the greeting", async () => {
      assert.equal((await client.setGreeting({ greeting: "Howdy" }, bearer(tokens.admin))).changedBy, "Ada");
      assert.equal((await client.hello({ name: "world" })).message, "Howdy, world!");
      await client.setGreeting({ greeting: "Hello" }, bearer(tokens.admin));
    });
  });
}

describe("plain fetch, JSON over HTTP/1.1", () => {
  const post = (method: string, body: unknown, token?: string) =>
    fetch(`${greeter.url}/greeter.v1.GreeterService/${method}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });

  test("the public method answers 200 without a token", async () => {
    const res = await post("Hello", { name: "curl" });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { message: "Hello, curl!" });
  });

  test("the optional method, anonymous and named", async () => {
    assert.deepEqual(await (await post("Greet", {})).json(), { message: "Hello, stranger!" });
    assert.deepEqual(await (await post("Greet", {}, tokens.user)).json(), { message: "Hello, Bob!" });
  });

  test("the admin method without a token: 401 with WWW-Authenticate", async () => {
    const res = await post("SetGreeting", { greeting: "Howdy" });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="greeter"');
    const body = (await res.json()) as { code: string; message: string; details: { type: string; debug: unknown }[] };
    assert.deepEqual([body.code, body.message], ["unauthenticated", "invalid or missing access token"]);
    assert.deepEqual(body.details.map((d) => [d.type, d.debug]), [["google.rpc.ErrorInfo", { reason: "TOKEN_MISSING", domain: "protogate" }]]);
  });

  test("the admin method with a token lacking the role: 403", async () => {
    const res = await post("SetGreeting", { greeting: "Howdy" }, tokens.user);
    assert.equal(res.status, 403);
    assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="greeter", error="insufficient_scope", scope="admin"');
    const body = (await res.json()) as { code: string; message: string; details: { type: string; debug: unknown }[] };
    assert.deepEqual([body.code, body.message], ["permission_denied", "permission denied"]);
    assert.deepEqual(body.details.map((d) => [d.type, d.debug]), [["google.rpc.ErrorInfo", { reason: "ROLE_MISSING", domain: "protogate", metadata: { scope: "admin" } }]]);
  });

  test("the admin method with an admin's token: 200", async () => {
    const res = await post("SetGreeting", { greeting: "Hello" }, tokens.admin);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { changedBy: "Ada" });
  });
});
