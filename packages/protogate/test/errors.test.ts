import assert from "node:assert/strict";
import { test } from "node:test";
import { Code } from "@connectrpc/connect";
import { AuthError, codeOf, defaultMessages, toConnectError, type AuthErrorReason } from "../src/index.js";

const tokenReasons: AuthErrorReason[] = ["missing", "malformed", "bad_algorithm", "bad_signature", "expired", "not_yet_valid", "bad_claims", "unknown_key", "revoked"];

test("every token reason is unauthenticated with one message; roles and availability have their own codes", () => {
  for (const reason of tokenReasons) {
    assert.equal(codeOf(reason), Code.Unauthenticated, reason);
    const err = toConnectError(new AuthError(reason));
    assert.equal(err.rawMessage, defaultMessages.unauthenticated, reason);
    assert.equal(err.metadata.get("www-authenticate"), "Bearer", reason);
    assert.ok(err.cause instanceof AuthError && err.cause.reason === reason, "the reason stays reachable as the cause");
  }
  assert.equal(codeOf("role_missing"), Code.PermissionDenied);
  assert.equal(codeOf("unavailable"), Code.Unavailable);
  const denied = toConnectError(new AuthError("role_missing"));
  assert.equal(denied.rawMessage, defaultMessages.permissionDenied);
  assert.equal(denied.metadata.get("www-authenticate"), null);
  assert.equal(toConnectError(new AuthError("unavailable")).rawMessage, defaultMessages.unavailable);
});

test("an AuthError's message is its reason only", () => {
  const err = new AuthError("expired", { cause: new Error("eyJhbGciOi...") });
  assert.equal(err.message, "auth: expired");
  assert.equal(err.name, "AuthError");
  assert.equal(err.reason, "expired");
  assert.ok(Object.isFrozen(defaultMessages));
});
