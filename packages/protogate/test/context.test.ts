import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import { getClaims, getVerifiedToken, requireClaims, verifiedTokenKey, type VerifiedToken } from "../src/index.js";
import { ClaimsSchema, OrgSchema } from "./fixture.js";

const verified: VerifiedToken = Object.freeze({ claims: create(ClaimsSchema, { userId: 5n, roles: ["a"] }), exp: 2_000_000_000, iat: 1_999_999_000, jti: "j" });

test("the claims are read from context values or from a handler context", () => {
  const values = createContextValues();
  assert.equal(getVerifiedToken(values), undefined);
  assert.equal(getClaims(values, ClaimsSchema), undefined);
  values.set(verifiedTokenKey, verified);
  assert.equal(getVerifiedToken(values), verified);
  assert.equal(getClaims(values, ClaimsSchema)?.userId, 5n);
  assert.equal(getClaims({ values }, ClaimsSchema), verified.claims);
  assert.equal(requireClaims({ values }, ClaimsSchema).roles[0], "a");
});

test("claims of another message type are a wiring mistake: TypeError", () => {
  const values = createContextValues();
  values.set(verifiedTokenKey, verified);
  assert.throws(() => getClaims(values, OrgSchema), (err: unknown) => err instanceof TypeError && /fixture\.v1\.Claims, not fixture\.v1\.Org/.test(err.message));
  assert.throws(() => requireClaims(values, OrgSchema), TypeError);
});

test("requireClaims without a token is unauthenticated, with the configured message and realm", () => {
  const values = createContextValues();
  const refusal = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof ConnectError);
      return err;
    }
    assert.fail("requireClaims returned without a token");
  };
  const plain = refusal(() => requireClaims(values, ClaimsSchema));
  assert.equal(plain.code, Code.Unauthenticated);
  assert.equal(plain.rawMessage, "invalid or missing access token");
  assert.equal(plain.metadata.get("www-authenticate"), "Bearer");
  const custom = refusal(() => requireClaims(values, ClaimsSchema, { messages: { unauthenticated: "who are you?" }, realm: "r" }));
  assert.equal(custom.rawMessage, "who are you?");
  assert.equal(custom.metadata.get("www-authenticate"), 'Bearer realm="r"');
});
