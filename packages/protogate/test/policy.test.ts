import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { combinePolicy, Policy, PolicyError, resolvePolicies, resolvePolicy, type MethodAuth } from "../src/index.js";
import { fixtureService, fixtureServices } from "./fixture.js";

const unknownPolicy = 7 as Policy;

/** The resolved policies of one service, by method name. */
function table(service: ReturnType<typeof fixtureService>, publicServices?: ReadonlySet<string>): Record<string, MethodAuth> {
  const resolved = resolvePolicies([service], publicServices);
  assert.equal(resolved.size, service.methods.length);
  return Object.fromEntries(service.methods.map((m) => [m.name, resolved.get(m)!]));
}

const policyError = (fn: () => unknown): PolicyError => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PolicyError, `expected a PolicyError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected a PolicyError, nothing was thrown");
};

describe("combinePolicy", () => {
  test("nothing declared is required: the zero value is the safe one", () => {
    assert.equal(combinePolicy(undefined, undefined), "required");
    assert.equal(combinePolicy(Policy.UNSPECIFIED, undefined), "required");
    assert.equal(combinePolicy(undefined, Policy.UNSPECIFIED), "required");
    assert.equal(combinePolicy(Policy.UNSPECIFIED, Policy.UNSPECIFIED), "required");
  });

  test("the method's own policy wins; UNSPECIFIED falls through to the service default", () => {
    assert.equal(combinePolicy(Policy.PUBLIC, Policy.REQUIRED), "public");
    assert.equal(combinePolicy(Policy.REQUIRED, Policy.PUBLIC), "required");
    assert.equal(combinePolicy(Policy.OPTIONAL, Policy.PUBLIC), "optional");
    assert.equal(combinePolicy(Policy.UNSPECIFIED, Policy.PUBLIC), "public");
    assert.equal(combinePolicy(undefined, Policy.OPTIONAL), "optional");
  });

  test("an unknown value refuses, wherever it is declared", () => {
    assert.throws(() => combinePolicy(unknownPolicy, undefined), PolicyError);
    assert.throws(() => combinePolicy(undefined, unknownPolicy), PolicyError);
    assert.throws(() => combinePolicy(Policy.UNSPECIFIED, unknownPolicy), PolicyError);
    assert.throws(() => combinePolicy(-1 as Policy, Policy.PUBLIC), { name: "PolicyError", message: "unknown auth policy value -1" });
    // a known method policy decides before the service's unknown default is looked at
    assert.equal(combinePolicy(Policy.PUBLIC, unknownPolicy), "public");
  });

  test("agrees with the rule 'first declared of method, service; else required' for every pair", () => {
    const names: Record<number, string> = { [Policy.REQUIRED]: "required", [Policy.PUBLIC]: "public", [Policy.OPTIONAL]: "optional" };
    const value = fc.option(fc.constantFrom(Policy.UNSPECIFIED, Policy.REQUIRED, Policy.PUBLIC, Policy.OPTIONAL), { nil: undefined });
    fc.assert(
      fc.property(value, value, (m, s) => {
        const first = [m, s].find((p) => p !== undefined && p !== Policy.UNSPECIFIED);
        assert.equal(combinePolicy(m, s), first === undefined ? "required" : names[first]);
      }),
      { seed: 51001, numRuns: 200 },
    );
  });
});

describe("resolvePolicies over descriptors", () => {
  test("a method nobody annotated needs a token (fail closed)", () => {
    const t = table(fixtureService(undefined, { Plain: {}, Unspecified: { policy: Policy.UNSPECIFIED } }));
    assert.deepEqual(t.Plain, { policy: "required", roles: [] });
    assert.deepEqual(t.Unspecified, { policy: "required", roles: [] });
  });

  test("the service default applies to methods without their own; a method's own overrides it", () => {
    const open = table(
      fixtureService(Policy.PUBLIC, {
        Inherits: {},
        Unspecified: { policy: Policy.UNSPECIFIED },
        Required: { policy: Policy.REQUIRED },
        Optional: { policy: Policy.OPTIONAL },
      }),
    );
    assert.equal(open.Inherits!.policy, "public");
    assert.equal(open.Unspecified!.policy, "public");
    assert.equal(open.Required!.policy, "required");
    assert.equal(open.Optional!.policy, "optional");

    const closed = table(fixtureService(Policy.REQUIRED, { Inherits: {}, Public: { policy: Policy.PUBLIC } }));
    assert.equal(closed.Inherits!.policy, "required");
    assert.equal(closed.Public!.policy, "public");

    const unspecifiedDefault = table(fixtureService(Policy.UNSPECIFIED, { Inherits: {} }));
    assert.equal(unspecifiedDefault.Inherits!.policy, "required");
  });

  test("resolvePolicy reads one method as resolvePolicies does", () => {
    const service = fixtureService(Policy.OPTIONAL, { A: {}, B: { policy: Policy.PUBLIC }, C: { roles: ["admin"], policy: Policy.REQUIRED } });
    const resolved = resolvePolicies([service]);
    for (const m of service.methods) assert.equal(resolvePolicy(m), resolved.get(m)!.policy, m.name);
    assert.deepEqual(
      service.methods.map((m) => resolvePolicy(m)),
      ["optional", "public", "required"],
    );
  });

  test("an unknown policy value refuses start-up, naming the method", () => {
    const onMethod = policyError(() => resolvePolicies([fixtureService(undefined, { Fine: {}, Broken: { policy: unknownPolicy } })]));
    assert.match(onMethod.message, /fixture\.v1\.FixtureService\.Broken/);
    assert.equal(onMethod.name, "PolicyError");
    const onService = policyError(() => resolvePolicies([fixtureService(unknownPolicy, { Inherits: {} })]));
    assert.match(onService.message, /fixture\.v1\.FixtureService\.Inherits/);
    // the method's own known policy is used, so the service's unknown default is never reached
    assert.equal(table(fixtureService(unknownPolicy, { Own: { policy: Policy.PUBLIC } })).Own!.policy, "public");
  });

  test("required_roles only with POLICY_REQUIRED (explicit, inherited or by default)", () => {
    const ok = table(
      fixtureService(undefined, {
        Explicit: { policy: Policy.REQUIRED, roles: ["admin"] },
        ByDefault: { roles: ["admin", "ops"] },
      }),
    );
    assert.deepEqual(ok.Explicit, { policy: "required", roles: ["admin"] });
    assert.deepEqual(ok.ByDefault, { policy: "required", roles: ["admin", "ops"] });
    assert.deepEqual(table(fixtureService(Policy.REQUIRED, { Inherited: { roles: ["a"] } })).Inherited, { policy: "required", roles: ["a"] });

    for (const [what, service] of [
      ["public", fixtureService(undefined, { Roles: { policy: Policy.PUBLIC, roles: ["admin"] } })],
      ["optional", fixtureService(undefined, { Roles: { policy: Policy.OPTIONAL, roles: ["admin"] } })],
      ["public by the service default", fixtureService(Policy.PUBLIC, { Roles: { roles: ["admin"] } })],
    ] as const) {
      const err = policyError(() => resolvePolicies([service]));
      assert.match(err.message, /fixture\.v1\.FixtureService\.Roles/, what);
      assert.match(err.message, /required_roles/, what);
    }
  });

  test("role names are plain names of 1 to 64 characters", () => {
    const accepted = ["admin", "a", "x".repeat(64), "org:acme.admin", "read-write_2", "A.B:C-D_E"];
    assert.deepEqual(table(fixtureService(undefined, { M: { roles: accepted } })).M!.roles, accepted);
    for (const bad of ["", " admin", "ad min", "x".repeat(65), "rôle", "a/b", "a,b", "admin\n", "*"]) {
      const err = policyError(() => resolvePolicies([fixtureService(undefined, { M: { roles: ["ok", bad] } })]));
      assert.match(err.message, /fixture\.v1\.FixtureService\.M/, JSON.stringify(bad));
    }
  });

  test("services named in publicServices are public; others are not affected", () => {
    const { Health, Mine } = fixtureServices([
      { name: "Health", methods: { Check: {}, Watch: {} } },
      { name: "Mine", methods: { Plain: {} } },
    ]);
    const resolved = resolvePolicies([Health!, Mine!], new Set(["fixture.v1.Health"]));
    assert.equal(resolved.size, 3);
    for (const m of Health!.methods) assert.deepEqual(resolved.get(m), { policy: "public", roles: [] }, m.name);
    assert.equal(resolved.get(Mine!.methods[0]!)!.policy, "required");
    // the short name, or another service's name, makes nothing public
    const byShortName = resolvePolicies([Health!], new Set(["Health", "fixture.v1.Mine"]));
    assert.equal(byShortName.get(Health!.methods[0]!)!.policy, "required");
  });

  test("a service in publicServices that declares options of its own refuses start-up, naming it", () => {
    const declaring = fixtureServices([
      { name: "ByMethod", methods: { Check: {}, Watch: { policy: Policy.REQUIRED } } },
      { name: "ByRoles", methods: { Check: { roles: ["ops"] } } },
      { name: "ByDefault", defaultPolicy: Policy.PUBLIC, methods: { Check: {} } },
    ]);
    for (const [name, service] of Object.entries(declaring)) {
      assert.throws(() => resolvePolicies([service], new Set([service.typeName])), (err: Error) => err instanceof PolicyError && err.message.includes(`fixture.v1.${name}`), name);
    }
  });

  test("the table is keyed by the served descriptors, and what it holds cannot be changed", () => {
    const service = fixtureService(undefined, { A: { roles: ["admin"] } });
    const resolved = resolvePolicies([service]);
    const auth = resolved.get(service.methods[0]!)!;
    assert.ok(Object.isFrozen(auth));
    assert.ok(Object.isFrozen(auth.roles));
    // another file's descriptor of the same name is another method
    const twin = fixtureService(undefined, { A: { roles: ["admin"] } });
    assert.equal(resolved.get(twin.methods[0]!), undefined);
  });
});
