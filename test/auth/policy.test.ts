import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { combinePolicy, Policy, PolicyError, resolvePolicies, resolvePolicy } from "protogate";
import { fixtureService } from "./fixture-service.js";
import { portServices, publicInfrastructure } from "../../src/routes.js";

describe("auth policy of every served method", () => {
  const expected: Record<string, "required" | "public"> = {
    "user.v1.UserService/Login": "public",
    "user.v1.UserService/Refresh": "public",
    "user.v1.UserService/Logout": "required",
    "search.v1.SearchService/Do": "required",
    "search.v1.SearchService/Ping": "public",
    "grpc.health.v1.Health/Check": "public",
    "grpc.health.v1.Health/Watch": "public",
    "grpc.health.v1.Health/List": "public",
    "grpc.reflection.v1.ServerReflection/ServerReflectionInfo": "public",
    "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": "public",
  };

  test("matches the table, and the table lists every method", () => {
    const served = new Set([...portServices("user"), ...portServices("search")]);
    const table = resolvePolicies([...served], publicInfrastructure);
    const actual = Object.fromEntries([...table].map(([m, a]) => [`${m.parent.typeName}/${m.name}`, a.policy]));
    assert.deepEqual(actual, expected);
  });
});

describe("combinePolicy", () => {
  const U = Policy.UNSPECIFIED, R = Policy.REQUIRED, P = Policy.PUBLIC;
  const rows: [Policy | undefined, Policy | undefined, "required" | "public"][] = [
    [undefined, undefined, "required"],
    [U, undefined, "required"],
    [U, U, "required"],
    [undefined, P, "public"],
    [U, P, "public"],
    [R, P, "required"],
    [P, R, "public"],
    [P, undefined, "public"],
    [R, undefined, "required"],
  ];
  for (const [m, s, want] of rows) {
    test(`method ${m} service ${s} -> ${want}`, () => assert.equal(combinePolicy(m, s), want));
  }
  test("an unknown value refuses", () => {
    assert.throws(() => combinePolicy(7 as Policy, undefined), PolicyError);
    assert.throws(() => combinePolicy(undefined, 9 as Policy), PolicyError);
  });
});

const serviceWith = (serviceOpt: Policy | undefined, methods: Record<string, Policy | undefined>) =>
  fixtureService(serviceOpt, Object.fromEntries(Object.entries(methods).map(([n, p]) => [n, { policy: p }])));

describe("resolvePolicy from descriptors", () => {
  test("a method nobody annotated requires a token", () => {
    const svc = serviceWith(undefined, { Bare: undefined });
    assert.equal(resolvePolicy(svc.methods[0]!), "required");
  });

  test("the service default covers unannotated methods; a method may opt out", () => {
    const svc = serviceWith(Policy.PUBLIC, { Open: undefined, Closed: Policy.REQUIRED });
    const table = resolvePolicies([svc]);
    assert.deepEqual(
      svc.methods.map((m) => table.get(m)?.policy),
      ["public", "required"],
    );
  });

  test("an unknown policy number refuses start-up, naming the method", () => {
    const svc = serviceWith(undefined, { Odd: 42 as Policy });
    assert.throws(() => resolvePolicies([svc]), (err: unknown) => {
      assert.ok(err instanceof PolicyError);
      assert.match(err.message, /fixture\.v1\.FixtureService\.Odd/);
      return true;
    });
  });
});
