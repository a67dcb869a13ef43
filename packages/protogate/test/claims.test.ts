// The claims codec on its own: every kind of field a claims message may declare, to JSON and
// back, with the exact message of each refusal (a ClaimsError on issue reaches the caller).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, equals } from "@bufbuild/protobuf";
import { assertClaimsMessage, ClaimsError, claimsFromJson, claimsToJson, maxListClaimItems } from "../src/jwt/claims.js";
import { KindsSchema, listDeepSchemas, Tier } from "./fixture.js";

const decode = (payload: Record<string, unknown>, unknown: "reject" | "ignore" = "reject") => claimsFromJson(KindsSchema, payload, unknown) as unknown as Record<string, unknown>;
const encode = (init: Record<string, unknown>) => claimsToJson(KindsSchema, create(KindsSchema, init as never));
/** The ClaimsError's message, or "accepted" when `run` throws nothing. */
const messageOf = (run: () => unknown) => {
  try {
    run();
  } catch (err) {
    assert.ok(err instanceof ClaimsError, `not a ClaimsError: ${String(err)}`);
    return err.message;
  }
  return "accepted";
};
const refusal = (payload: Record<string, unknown>, unknown: "reject" | "ignore" = "reject") => messageOf(() => decode(payload, unknown));
const encodeRefusal = (init: Record<string, unknown>) => messageOf(() => encode(init));

describe("claims: integers within their field's range", () => {
  const int32: [number, number] = [-(2 ** 31), 2 ** 31 - 1];
  const uint32: [number, number] = [0, 2 ** 32 - 1];
  const kinds = {
    int32: { range: int32, big: false },
    sint32: { range: int32, big: false },
    sfixed32: { range: int32, big: false },
    uint32: { range: uint32, big: false },
    fixed32: { range: uint32, big: false },
    int64: { range: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER], big: true },
    sint64: { range: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER], big: true },
    sfixed64: { range: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER], big: true },
    uint64: { range: [0, Number.MAX_SAFE_INTEGER], big: true },
    fixed64: { range: [0, Number.MAX_SAFE_INTEGER], big: true },
  } as const;

  for (const [kind, { range, big }] of Object.entries(kinds)) {
    test(`${kind}: ${range[0]} .. ${range[1]}, nothing else`, () => {
      const [min, max] = range;
      for (const v of [min, max, 0, 7]) {
        const got = decode({ [kind]: v })[kind];
        assert.equal(got, big ? BigInt(v) : v, `${kind} ${v}`);
        assert.deepEqual(encode({ [kind]: got }), v === 0 ? {} : { [kind]: v }, `${kind} ${v} back to JSON`);
      }
      for (const v of [min - 1, max + 1, 1.5, -0.5, "1", true, null, [1], {}, Number.NaN, Infinity]) {
        assert.equal(refusal({ [kind]: v }), `${kind}: not of type ${kind}`, `${kind} ${String(v)}`);
      }
    });
  }

  test("a 64-bit integer beyond 2^53 is not issued (JWT claims are JSON numbers)", () => {
    for (const kind of ["int64", "sint64", "sfixed64", "uint64", "fixed64"]) {
      assert.equal(encodeRefusal({ [kind]: 2n ** 53n }), `${kind}: 9007199254740992 is not a safe integer`, kind);
      assert.deepEqual(encode({ [kind]: 2n ** 53n - 1n }), { [kind]: Number.MAX_SAFE_INTEGER }, kind);
    }
    assert.equal(encodeRefusal({ int64: -(2n ** 53n) }), "int64: -9007199254740992 is not a safe integer");
    assert.equal(encodeRefusal({ ids: [1n, 2n ** 60n] }), "ids: 1152921504606846976 is not a safe integer");
  });
});

describe("claims: the other scalars", () => {
  test("double and float: finite numbers only", () => {
    for (const kind of ["double", "float"]) {
      for (const v of [0.5, -1e300, 3]) assert.equal(decode({ [kind]: v })[kind], v, `${kind} ${v}`);
      for (const v of ["0.5", Infinity, -Infinity, Number.NaN, null, true, []]) assert.equal(refusal({ [kind]: v }), `${kind}: not of type ${kind}`, `${kind} ${String(v)}`);
    }
  });

  test("bool, string, bytes: their own JSON type; bytes as canonical unpadded base64url", () => {
    assert.equal(decode({ bool: true }).bool, true);
    assert.equal(decode({ string: "" }).string, "");
    assert.deepEqual(decode({ bytes: "AQL_" }).bytes, new Uint8Array([1, 2, 255]));
    for (const v of [1, "true", null]) assert.equal(refusal({ bool: v }), "bool: not of type bool", String(v));
    for (const v of [1, false, null, ["a"]]) assert.equal(refusal({ string: v }), "string: not of type string", String(v));
    for (const v of ["AQL/", "AQL_==", "AB", 1, null]) assert.equal(refusal({ bytes: v }), "bytes: not of type bytes", String(v));
    assert.deepEqual(encode({ bool: true, string: "s", bytes: new Uint8Array([1, 2, 255]) }), { bool: true, string: "s", bytes: "AQL_" });
  });
});

describe("claims: enums, messages and lists", () => {
  test("an enum by its value's full name, alone and in a list", () => {
    assert.equal(decode({ tier: "TIER_PRO" }).tier, Tier.PRO);
    assert.deepEqual(decode({ tiers: ["TIER_FREE", "TIER_PRO", "TIER_FREE"] }).tiers, [Tier.FREE, Tier.PRO, Tier.FREE]);
    for (const v of [2, "PRO", "TIER_GOLD", null, ["TIER_PRO"], { toString: () => "TIER_PRO" }]) {
      assert.equal(refusal({ tier: v }), "tier: not a value of fixture.v1.Tier", String(v));
      assert.equal(refusal({ tiers: ["TIER_FREE", v] }), "tiers: not a value of fixture.v1.Tier", `in a list: ${String(v)}`);
    }
    assert.deepEqual(encode({ tier: Tier.PRO, tiers: [Tier.FREE, Tier.PRO] }), { tier: "TIER_PRO", tiers: ["TIER_FREE", "TIER_PRO"] });
    assert.equal(encodeRefusal({ tier: 7 }), "tier: 7 is not a value of fixture.v1.Tier");
    assert.equal(encodeRefusal({ tiers: [Tier.FREE, 9] }), "tiers: 9 is not a value of fixture.v1.Tier");
  });

  test("a message is a JSON object, alone and in a list, decoded as strictly as the top level", () => {
    const org = decode({ org: { name: "acme", seats: 3 } }).org as { name: string; seats: number };
    assert.deepEqual([org.name, org.seats], ["acme", 3]);
    const orgs = decode({ orgs: [{ name: "a" }, { seats: 2 }] }).orgs as { name: string; seats: number }[];
    assert.deepEqual(orgs.map((o) => [o.name, o.seats]), [["a", 0], ["", 2]]);
    // not an object: refused whatever unknownClaims says (a string's characters are not members)
    for (const unknown of ["reject", "ignore"] as const) {
      for (const v of ["acme", 5, true, null, [], [{ name: "a" }]]) {
        assert.equal(refusal({ org: v }, unknown), "org: not an object", `${unknown}: ${JSON.stringify(v)}`);
        assert.equal(refusal({ orgs: [v] }, unknown), "orgs: not an object", `${unknown}: in a list: ${JSON.stringify(v)}`);
      }
    }
    // inside a message nothing is skipped: "exp" there is just an undeclared member
    assert.equal(refusal({ org: { name: "a", exp: 1 } }), "an undeclared claim");
    assert.equal(refusal({ orgs: [{ name: "a", extra: true }] }), "an undeclared claim");
    assert.equal(refusal({ org: { seats: -1 } }), "seats: not of type uint32");
    assert.equal(refusal({ org: { name: "a", exp: 1 } }, "ignore"), "accepted");
    assert.deepEqual(encode({ org: { name: "acme", seats: 3 }, orgs: [{ name: "a" }, { seats: 2 }] }), { org: { name: "acme", seats: 3 }, orgs: [{ name: "a" }, { seats: 2 }] });
  });

  test(`a list: a JSON array of at most ${maxListClaimItems} items, each of the field's type; 64-bit and bytes items as for single fields`, () => {
    assert.deepEqual(decode({ ids: [1, -2, Number.MAX_SAFE_INTEGER] }).ids, [1n, -2n, BigInt(Number.MAX_SAFE_INTEGER)]);
    assert.deepEqual(decode({ blobs: ["AQ", ""] }).blobs, [new Uint8Array([1]), new Uint8Array()]);
    assert.equal((decode({ ids: Array(maxListClaimItems).fill(1) }).ids as unknown[]).length, maxListClaimItems);
    for (const v of [Array(maxListClaimItems + 1).fill(1), 1, "1", null, { 0: 1 }]) {
      assert.equal(refusal({ ids: v }), `ids: not a list of at most ${maxListClaimItems}`, JSON.stringify(v));
    }
    assert.equal(refusal({ ids: [1, 1.5] }), "ids: not of type int64");
    assert.equal(refusal({ blobs: ["AQ", "AQ=="] }), "blobs: not of type bytes");
    assert.deepEqual(encode({ ids: [1n, -2n], blobs: [new Uint8Array([1]), new Uint8Array()] }), { ids: [1, -2], blobs: ["AQ", ""] });
  });
});

describe("claims: members", () => {
  test("unset fields and zero values are left out; what is set round-trips", () => {
    assert.deepEqual(encode({}), {});
    const all = {
      int32: -3, sint32: 4, sfixed32: -5, uint32: 6, fixed32: 7, int64: -8n, sint64: 9n, sfixed64: -10n, uint64: 11n, fixed64: 12n,
      double: 0.25, float: 0.5, bool: true, string: "x", bytes: new Uint8Array([9]),
      tier: Tier.FREE, org: { name: "o", seats: 1 }, tiers: [Tier.PRO], orgs: [{ name: "p" }], ids: [13n], blobs: [new Uint8Array([14])],
    };
    const json = encode(all);
    assert.equal(Object.keys(json).length, Object.keys(all).length);
    assert.ok(equals(KindsSchema, claimsFromJson(KindsSchema, json, "reject"), create(KindsSchema, all as never)));
  });

  test("an undeclared member: refused with 'reject' (the registered claims aside), ignored with 'ignore'", () => {
    assert.equal(refusal({ int32: 1, extra: 1 }), "an undeclared claim");
    assert.equal(refusal({ extra: 1 }), "an undeclared claim");
    assert.equal(refusal({ int32: 1, exp: 1, iat: 1, nbf: 1, iss: "i", aud: "a", jti: "j" }), "accepted");
    assert.equal(refusal({ int32: 1, extra: 1 }, "ignore"), "accepted");
    assert.equal(decode({ int32: 1, extra: 1 }, "ignore").int32, 1);
    // a member that only looks like a field: the field's JSON name counts, not its proto name
    assert.equal(refusal({ int_32: 1 }), "an undeclared claim");
    assert.equal(refusal({ toString: 1 }), "an undeclared claim");
  });

  test("a claims message nested through lists is bounded like one nested through fields", () => {
    assert.throws(() => assertClaimsMessage(listDeepSchemas.tooDeep), { name: "TypeError", message: "fixture.v1.ListDeep5: claims nest too deep" });
    assertClaimsMessage(listDeepSchemas.deepest);
    assertClaimsMessage(KindsSchema);
  });
});
