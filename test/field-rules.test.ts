import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { StatusSchema } from "protogate/gen/google/rpc/status_pb.js";
import { SearchService } from "../src/gen/search/v1/search_pb.js";
import { UserService } from "../src/gen/user/v1/user_pb.js";
import { addTestUsers, loadProtoImage, startTestApp, tempDir, testConfig } from "./harness.js";

// The field rules live in the proto (buf.validate options in user.proto and search.proto) and
// are enforced by protovalidate on every protocol, after auth.

/** What a refusal for broken rules says: the code, and each violation's field and rule. */
interface Refusal {
  code: Code | undefined;
  violations: { field: string; rule: string }[];
}

function violationsOf(err: ConnectError): Refusal["violations"] {
  return err.findDetails(ViolationsSchema).flatMap((d) =>
    d.violations.map((v) => ({ field: v.field?.elements.map((e) => e.fieldName).join(".") ?? "", rule: v.ruleId })),
  );
}

async function refusal(call: Promise<unknown>): Promise<Refusal> {
  try {
    await call;
  } catch (err) {
    const e = ConnectError.from(err);
    return { code: e.code, violations: violationsOf(e) };
  }
  return { code: undefined, violations: [] };
}

const transports: Record<string, (url: string) => Transport> = {
  "Connect JSON": (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1" }),
  "Connect binary": (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true }),
  gRPC: (baseUrl) => createGrpcTransport({ baseUrl }),
  "gRPC-Web": (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }),
};

describe("field rules from the proto", () => {
  const dir = tempDir();
  const config = testConfig(dir.path); // LoginLimits.MaxFailuresPerUser: 5
  let app: Awaited<ReturnType<typeof startTestApp>>;
  let token: string;
  before(async () => {
    await addTestUsers(config, "erin");
    app = await startTestApp(config);
    const users = createClient(UserService, transports["Connect JSON"]!(app.userUrl));
    token = (await users.login({ username: "erin", password: "erin-password" })).accessToken;
  });
  after(async () => {
    await app.close();
    dir.remove();
  });

  for (const [name, transport] of Object.entries(transports)) {
    test(`${name}: a broken rule is invalid_argument with a buf.validate.Violations detail naming field and rule`, async () => {
      const users = createClient(UserService, transport(app.userUrl));
      const search = createClient(SearchService, transport(app.searchUrl));
      assert.deepEqual(await refusal(users.login({ username: "", password: "" })), {
        code: Code.InvalidArgument,
        violations: [
          { field: "username", rule: "string.min_len" },
          { field: "password", rule: "string.min_len" },
        ],
      });
      assert.deepEqual(await refusal(search.do({ name: "" }, { headers: { authorization: token } })), {
        code: Code.InvalidArgument,
        violations: [{ field: "name", rule: "string.min_len" }],
      });
      // after auth: without a token the rules are not even looked at
      assert.deepEqual(await refusal(search.do({ name: "" })), { code: Code.Unauthenticated, violations: [] });
    });
  }

  test("lengths count code points (as the database column does), each bound exact", async () => {
    const users = createClient(UserService, transports["Connect binary"]!(app.userUrl));
    const search = createClient(SearchService, transports["Connect binary"]!(app.searchUrl));
    const emoji = "\u{1F4DA}"; // two UTF-16 code units, one code point
    const login = (username: string, password: string) => refusal(users.login({ username, password }));
    // within the rules, so it reaches the password check: unknown user
    assert.equal((await login(emoji.repeat(64), "x")).code, Code.Unauthenticated);
    assert.deepEqual((await login(emoji.repeat(65), "x")).violations, [{ field: "username", rule: "string.max_len" }]);
    assert.equal((await login("nobody", emoji.repeat(1024))).code, Code.Unauthenticated);
    assert.deepEqual((await login("nobody", emoji.repeat(1025))).violations, [{ field: "password", rule: "string.max_len" }]);
    for (const control of ["\u0000", "\u0007", "\u001f", "\u007f"]) {
      assert.deepEqual((await login(`er${control}in`, "x")).violations, [{ field: "username", rule: "string.pattern" }], JSON.stringify(control));
    }
    assert.equal((await login("er\u0080in", "x")).code, Code.Unauthenticated); // C1 controls are not in the rule
    const auth = { headers: { authorization: token } };
    assert.equal((await search.do({ name: emoji.repeat(255) }, auth)).count, 0n);
    assert.deepEqual((await refusal(search.do({ name: emoji.repeat(256) }, auth))).violations, [{ field: "name", rule: "string.max_len" }]);
  });

  test("a refused login costs no hashing and no attempt against the login limit", async () => {
    const users = createClient(UserService, transports["Connect JSON"]!(app.userUrl));
    // more than the limit of 5 failures, each with a password over the rule's bound
    for (let i = 0; i < 8; i++) {
      assert.equal((await refusal(users.login({ username: "erin", password: "x".repeat(1025) }))).code, Code.InvalidArgument);
    }
    assert.ok((await users.login({ username: "erin", password: "erin-password" })).accessToken);
  });

  test("@grpc/grpc-js reads the violations from grpc-status-details-bin (google.rpc.Status)", async () => {
    const pkg = grpc.loadPackageDefinition(loadProtoImage()) as any;
    const users = new pkg.user.v1.UserService(`127.0.0.1:${app.ports.user}`, grpc.credentials.createInsecure());
    try {
      const err = await new Promise<grpc.ServiceError>((resolve, reject) =>
        users.Login({ username: "erin", password: "" }, (e: grpc.ServiceError | null) => (e ? resolve(e) : reject(new Error("the call succeeded")))),
      );
      assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
      const [bin] = err.metadata.get("grpc-status-details-bin") as Buffer[];
      const status = fromBinary(StatusSchema, bin!);
      assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
      const violations = status.details.map((d) => anyUnpack(d, ViolationsSchema));
      assert.deepEqual(
        violations.flatMap((v) => v?.violations.map((x) => [x.field?.elements[0]?.fieldName, x.ruleId]) ?? []),
        [["password", "string.min_len"]],
      );
    } finally {
      users.close();
    }
  });
});
