import assert from "node:assert/strict";
import { test } from "node:test";
import { Code } from "@connectrpc/connect";
import { AuthError, authFailureOf, codeOf, defaultMessages, toConnectError, type AuthErrorReason } from "../src/index.js";
import { ErrorInfoSchema } from "../src/gen/google/rpc/error_details_pb.js";

const tokenReasons: AuthErrorReason[] = ["missing", "malformed", "bad_algorithm", "bad_signature", "expired", "not_yet_valid", "bad_claims", "unknown_key", "revoked"];

test("every token reason is unauthenticated with one message; roles and availability have their own codes", () => {
  for (const reason of tokenReasons) {
    assert.equal(codeOf(reason), Code.Unauthenticated, reason);
    const err = toConnectError(new AuthError(reason));
    assert.equal(err.rawMessage, defaultMessages.unauthenticated, reason);
    const failure = ({ missing: "TOKEN_MISSING", expired: "TOKEN_EXPIRED", revoked: "TOKEN_REVOKED" } as Record<string, string>)[reason] ?? "TOKEN_INVALID";
    assert.equal(authFailureOf(err), failure, reason);
    assert.equal(err.metadata.get("www-authenticate")?.startsWith("Bearer"), true, reason);
    assert.ok(err.cause instanceof AuthError && err.cause.reason === reason, "the reason stays reachable as the cause");
  }
  assert.equal(codeOf("role_missing"), Code.PermissionDenied);
  assert.equal(codeOf("unavailable"), Code.Unavailable);
  const denied = toConnectError(new AuthError("role_missing"), { scope: ["admin", "ops"], realm: "r", domain: "example.com" });
  assert.equal(denied.rawMessage, defaultMessages.permissionDenied);
  assert.equal(denied.metadata.get("www-authenticate"), 'Bearer realm="r", error="insufficient_scope", scope="admin ops"');
  assert.deepEqual(denied.findDetails(ErrorInfoSchema).map((d) => [d.reason, d.domain, d.metadata]), [["ROLE_MISSING", "example.com", { scope: "admin ops" }]]);
  assert.equal(authFailureOf(denied), undefined, "another domain is not ours to read");
  assert.equal(authFailureOf(denied, "example.com"), "ROLE_MISSING");
  const unavailable = toConnectError(new AuthError("unavailable"));
  assert.equal(unavailable.rawMessage, defaultMessages.unavailable);
  assert.deepEqual([unavailable.details, unavailable.metadata.get("www-authenticate")], [[], null], "nothing of the caller's to fix");
});

test("authFailureOf reads only a refusal's own detail", () => {
  assert.equal(authFailureOf(new Error("x")), undefined);
  assert.equal(authFailureOf(undefined), undefined);
  assert.equal(authFailureOf(toConnectError(new AuthError("expired"))), "TOKEN_EXPIRED");
});

test("an AuthError's message is its reason only", () => {
  const err = new AuthError("expired", { cause: new Error("eyJhbGciOi...") });
  assert.equal(err.message, "auth: expired");
  assert.equal(err.name, "AuthError");
  assert.equal(err.reason, "expired");
  assert.ok(Object.isFrozen(defaultMessages));
});
