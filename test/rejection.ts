import assert from "node:assert/strict";
import { AuthError, type TokenRejection } from "protogate";

/** The reason a token is refused with; fails the test when it is accepted or fails otherwise. */
export async function rejection(p: Promise<unknown>): Promise<TokenRejection> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AuthError, `expected AuthError, got ${String(err)}`);
    return err.reason as TokenRejection;
  }
  assert.fail("token was accepted");
}
