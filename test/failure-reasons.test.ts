import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { authFailureOf } from "protogate";
import { createTokenInterceptor, type TokenStore } from "protogate/client";
import { ErrorInfoSchema } from "protogate/gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "protogate/gen/google/rpc/status_pb.js";
import { SearchService } from "../src/gen/search/v1/search_pb.js";
import { UserService } from "../src/gen/user/v1/user_pb.js";
import { addTestUsers, loadProtoImage, manualClock, startTestApp, tempDir, testConfig } from "./harness.js";

// What a client is told when its token is refused: the same on every protocol, and enough to
// know "refresh" (expired) from "log in" (missing) from "give up" (invalid), and no more.
const challenge = {
  missing: 'Bearer realm="bookstore"',
  expired: 'Bearer realm="bookstore", error="invalid_token", error_description="the access token expired"',
  invalid: 'Bearer realm="bookstore", error="invalid_token"',
};

describe("why a call was refused, as the caller reads it", () => {
  const dir = tempDir();
  const config = testConfig(dir.path, { accessExpire: 900 });
  const clock = manualClock();
  let app: Awaited<ReturnType<typeof startTestApp>>;
  let live: string;
  let expired: string;
  let forged: string;
  before(async () => {
    await addTestUsers(config, "erin");
    app = await startTestApp(config, { clock });
    const login = () => createClient(UserService, createConnectTransport({ baseUrl: app.userUrl, httpVersion: "1.1" })).login({ username: "erin", password: "erin-password" });
    expired = (await login()).accessToken;
    clock.advance((900 + 31) * 1000); // past exp and the 30 s clock tolerance
    live = (await login()).accessToken;
    const [h, p, s] = live.split(".") as [string, string, string];
    forged = `${h}.${p}.${s.startsWith("A") ? "B" : "A"}${s.slice(1)}`;
  });
  after(async () => {
    await app.close();
    dir.remove();
  });

  const transports: Record<string, (url: string) => Transport> = {
    "Connect JSON": (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1" }),
    "Connect binary": (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true }),
    gRPC: (baseUrl) => createGrpcTransport({ baseUrl }),
    "gRPC-Web": (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }),
  };
  for (const [name, transport] of Object.entries(transports)) {
    test(`${name}: expired, missing and invalid tokens each carry their reason in the detail and the header`, async () => {
      const search = createClient(SearchService, transport(app.searchUrl));
      const refusal = async (authorization: string | undefined) => {
        try {
          await search.do({ name: "go-zero" }, { headers: authorization === undefined ? {} : { authorization } });
        } catch (err) {
          const e = ConnectError.from(err);
          assert.equal(e.code, Code.Unauthenticated, e.rawMessage);
          assert.equal(e.rawMessage, "invalid or missing access token", "one constant message");
          return [authFailureOf(e), e.metadata.get("www-authenticate")];
        }
        assert.fail("the call succeeded");
      };
      assert.deepEqual(await refusal(`Bearer ${expired}`), ["TOKEN_EXPIRED", challenge.expired]);
      assert.deepEqual(await refusal(undefined), ["TOKEN_MISSING", challenge.missing]);
      assert.deepEqual(await refusal(`Bearer ${forged}`), ["TOKEN_INVALID", challenge.invalid], "a forgery reads as any bad token");
      assert.deepEqual(await refusal("Bearer not.a.token"), ["TOKEN_INVALID", challenge.invalid]);
      assert.equal((await search.do({ name: "go-zero" }, { headers: { authorization: `Bearer ${live}` } })).count, 100n);
    });
  }

  test("protogate's client interceptor: 20 concurrent calls with an expired token share one Refresh, each retried and served", async () => {
    const users = createClient(UserService, createConnectTransport({ baseUrl: app.userUrl, httpVersion: "1.1" }));
    const pair = await users.login({ username: "erin", password: "erin-password" });
    clock.advance((900 + 31) * 1000);
    let token = pair.accessToken;
    let refreshToken = pair.refreshToken;
    let refreshes = 0;
    const tokens: TokenStore = {
      accessToken: () => token,
      async refresh() {
        refreshes++;
        const res = await users.refresh({ refreshToken });
        [token, refreshToken] = [res.accessToken, res.refreshToken];
        return token;
      },
    };
    for (const [name, transport] of Object.entries({
      Connect: createConnectTransport({ baseUrl: app.searchUrl, httpVersion: "1.1", interceptors: [createTokenInterceptor({ tokens })] }),
      gRPC: createGrpcTransport({ baseUrl: app.searchUrl, interceptors: [createTokenInterceptor({ tokens })] }),
    })) {
      const before = refreshes;
      const search = createClient(SearchService, transport);
      const results = await Promise.all(Array.from({ length: 20 }, () => search.do({ name: "go-zero" })));
      assert.ok(results.every((r) => r.count === 100n), name);
      assert.equal(refreshes - before, 1, `${name}: one Refresh for all 20`);
      clock.advance((900 + 31) * 1000); // expired again for the next protocol
    }
    assert.notEqual(token, pair.accessToken);
  });

  test("a plain POST (curl) gets the detail as JSON, with its type named", async () => {
    const res = await fetch(`${app.searchUrl}/search.v1.SearchService/Do`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${expired}` },
      body: '{"name":"go-zero"}',
    });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get("www-authenticate"), challenge.expired);
    const body = (await res.json()) as { code: string; message: string; details: { type: string; value: string; debug?: unknown }[] };
    assert.equal(body.code, "unauthenticated");
    assert.equal(body.details.length, 1);
    assert.equal(body.details[0]!.type, "google.rpc.ErrorInfo");
    const info = fromBinary(ErrorInfoSchema, Buffer.from(body.details[0]!.value, "base64"));
    assert.deepEqual([info.reason, info.domain], ["TOKEN_EXPIRED", "protogate"]);
  });

  test("@grpc/grpc-js reads it from grpc-status-details-bin (google.rpc.Status)", async () => {
    const def = loadProtoImage();
    const pkg = grpc.loadPackageDefinition(def) as any;
    const search = new pkg.search.v1.SearchService(`127.0.0.1:${app.ports.search}`, grpc.credentials.createInsecure());
    try {
      const md = new grpc.Metadata();
      md.set("authorization", `Bearer ${expired}`);
      const err = await new Promise<grpc.ServiceError>((resolve, reject) =>
        search.Do({ name: "go-zero" }, md, (e: grpc.ServiceError | null) => (e ? resolve(e) : reject(new Error("the call succeeded")))),
      );
      assert.equal(err.code, grpc.status.UNAUTHENTICATED);
      assert.equal(err.metadata.get("www-authenticate")[0], challenge.expired);
      const [bin] = err.metadata.get("grpc-status-details-bin") as Buffer[];
      assert.ok(bin, "grpc-status-details-bin is sent");
      const status = fromBinary(StatusSchema, bin);
      assert.equal(status.code, grpc.status.UNAUTHENTICATED);
      assert.equal(status.details[0]?.typeUrl, "type.googleapis.com/google.rpc.ErrorInfo");
      assert.equal(anyUnpack(status.details[0]!, ErrorInfoSchema)?.reason, "TOKEN_EXPIRED");
    } finally {
      search.close();
    }
  });
});
