import assert from "node:assert/strict";
import { test } from "node:test";
import { AuthError } from "protogate";
import { withVerifiedTokenCache } from "protogate/jwt";
import { createTokenService, type TokenService } from "../../src/auth/tokens.js";
import { manualClock, testSecret } from "../harness.js";

/** Counts how often the wrapped service really verifies. */
function counting(tokens: TokenService): TokenService & { verified: number } {
  const c = {
    verified: 0,
    ...tokens,
    verify: (t: string) => {
      c.verified++;
      return tokens.verify(t);
    },
  };
  return c;
}

test("a token verified once is served from the cache until its exp, never after", async () => {
  const clock = manualClock(Date.UTC(2026, 0, 1));
  const inner = counting(await createTokenService({ secret: testSecret(), accessExpire: 600, clock }));
  const tokens = withVerifiedTokenCache(inner, { maxEntries: 10, clock });
  const { token, exp } = await tokens.issue(7);
  const first = await tokens.verify(token);
  const again = await tokens.verify(token);
  assert.equal(again, first);
  assert.equal(inner.verified, 1);
  clock.advance((exp - Math.floor(clock.now() / 1000)) * 1000 + 31_000); // past exp and the clock tolerance
  await assert.rejects(async () => tokens.verify(token), (e: unknown) => e instanceof AuthError && e.reason === "expired");
  assert.equal(inner.verified, 2, "an expired entry goes back to the real check");
});

test("failures are not cached; a changed token is a different key; the size is bounded", async () => {
  const clock = manualClock();
  const inner = counting(await createTokenService({ secret: testSecret(), accessExpire: 600, clock }));
  const tokens = withVerifiedTokenCache(inner, { maxEntries: 2, clock });
  const a = (await tokens.issue(1)).token;
  await tokens.verify(a);
  const forged = a.slice(0, -2) + (a.at(-2) === "A" ? "B" : "A") + a.at(-1);
  await assert.rejects(async () => tokens.verify(forged));
  await assert.rejects(async () => tokens.verify(forged));
  assert.equal(inner.verified, 3);
  const b = (await tokens.issue(2)).token;
  const c = (await tokens.issue(3)).token;
  await tokens.verify(b);
  await tokens.verify(c); // evicts a
  const before = inner.verified;
  await tokens.verify(a);
  assert.equal(inner.verified, before + 1, "the oldest entry was dropped");
});
