import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { AuthError, type VerifiedToken } from "../src/index.js";
import { createJwtCodec, createKeyRing, hmacKey, withVerifiedTokenCache, type CachableVerifier } from "../src/jwt/index.js";
import { ClaimsSchema, type Claims } from "./fixture.js";

const T = 1_900_000_000;

/**
 * A verifier that counts its calls: a token `ok:<userId>:<exp>` verifies with that expiry, a
 * token `bad` fails; `onVerify` runs inside each call.
 */
function countingVerifier() {
  const state = { calls: 0, version: 0, onVerify: () => {} };
  const verifier: CachableVerifier<Claims> = {
    async verify(token: string): Promise<VerifiedToken<Claims>> {
      state.calls++;
      state.onVerify();
      const match = /^ok:(\d+):(\d+)(?::[a-z]*)?$/.exec(token);
      if (match === null) throw new AuthError("bad_signature");
      return Object.freeze({ claims: create(ClaimsSchema, { userId: BigInt(match[1]!) }), exp: Number(match[2]), iat: undefined, jti: undefined });
    },
    keysVersion: () => state.version,
  };
  return { state, verifier };
}

const clockAt = (seconds: number) => {
  const clock = { ms: seconds * 1000, now: () => clock.ms };
  return clock;
};

test("a hit skips the verifier and returns the same verified token", async () => {
  const { state, verifier } = countingVerifier();
  const cached = withVerifiedTokenCache(verifier, { maxEntries: 10, clock: clockAt(T) });
  const first = await cached.verify(`ok:1:${T + 60}`);
  const second = await cached.verify(`ok:1:${T + 60}`);
  assert.equal(state.calls, 1);
  assert.equal(second, first);
  assert.equal(first.claims.userId, 1n);
  await cached.verify(`ok:2:${T + 60}`);
  assert.equal(state.calls, 2, "another token string is another entry");
});

test("tokens that end alike are told apart: a token is served only its own entry", async () => {
  const { state, verifier } = countingVerifier();
  const cached = withVerifiedTokenCache(verifier, { maxEntries: 10, clock: clockAt(T) });
  const tail = `:${"x".repeat(64)}`; // longer than the part an entry is found by
  const one = `ok:1:${T + 60}${tail}`;
  const two = `ok:2:${T + 60}${tail}`;
  assert.equal((await cached.verify(one)).claims.userId, 1n);
  await assert.rejects(async () => cached.verify(`forged${tail}`), AuthError, "a forged token ending like a cached one is verified, and refused");
  assert.equal((await cached.verify(two)).claims.userId, 2n, "not the cached token's claims");
  assert.equal((await cached.verify(two)).claims.userId, 2n);
  assert.equal(state.calls, 3);
  assert.equal((await cached.verify(one)).claims.userId, 1n, "the newer token took the entry: the first is verified again");
  assert.equal(state.calls, 4);
});

test("a hit is answered at once, as the verified token itself rather than a promise of it", async () => {
  const { state, verifier } = countingVerifier();
  const cached = withVerifiedTokenCache(verifier, { maxEntries: 10, clock: clockAt(T) });
  const miss = cached.verify(`ok:1:${T + 60}`);
  assert.ok(miss instanceof Promise, "a miss waits for the verifier");
  const first = await miss;
  const hit = cached.verify(`ok:1:${T + 60}`);
  assert.equal(hit, first);
  assert.equal(state.calls, 1);
});

test("peek answers a live entry of exactly that token, and anything else with undefined, never verifying", async () => {
  const { state, verifier } = countingVerifier();
  const clock = clockAt(T);
  const cached = withVerifiedTokenCache(verifier, { maxEntries: 10, clock });
  const token = `ok:1:${T + 60}:${"x".repeat(40)}`;
  assert.equal(cached.peek(token), undefined, "not verified yet");
  const verified = await cached.verify(token);
  assert.equal(cached.peek(token), verified);
  assert.equal(cached.peek(`ok:2:${T + 60}:${"x".repeat(40)}`), undefined, "a token ending alike");
  assert.equal(cached.peek("bad"), undefined);
  state.version++;
  assert.equal(cached.peek(token), undefined, "the keys changed");
  await cached.verify(token);
  clock.ms = (T + 60) * 1000;
  assert.equal(cached.peek(token), undefined, "expired");
  assert.equal(state.calls, 2, "peek never verifies");
  const off = withVerifiedTokenCache(verifier, { maxEntries: 0 });
  await off.verify(token);
  assert.equal(off.peek(token), undefined, "a cache of 0 entries holds nothing");
});

test("an entry is never served at or past the token's exp", async () => {
  const { state, verifier } = countingVerifier();
  const clock = clockAt(T);
  const cached = withVerifiedTokenCache(verifier, { maxEntries: 10, clock });
  const token = `ok:1:${T + 60}`;
  await cached.verify(token);
  clock.ms = (T + 59) * 1000 + 999;
  await cached.verify(token);
  assert.equal(state.calls, 1, "still a hit one millisecond before exp");
  clock.ms = (T + 60) * 1000;
  state.onVerify = () => {
    throw new AuthError("expired");
  };
  await assert.rejects(async () => cached.verify(token), (err: unknown) => err instanceof AuthError && err.reason === "expired");
  assert.equal(state.calls, 2, "at exp the verifier decides again");
});

test("the entries are dropped when the keys change", async () => {
  const { state, verifier } = countingVerifier();
  const cached = withVerifiedTokenCache(verifier, { maxEntries: 10, clock: clockAt(T) });
  const token = `ok:1:${T + 60}`;
  await cached.verify(token);
  state.version = 1;
  await cached.verify(token);
  assert.equal(state.calls, 2);
  await cached.verify(token);
  assert.equal(state.calls, 2, "cached again under the new keys");
});

test("a token verified while the keys changed is not cached", async () => {
  const { state, verifier } = countingVerifier();
  const cached = withVerifiedTokenCache(verifier, { maxEntries: 10, clock: clockAt(T) });
  state.onVerify = () => void state.version++;
  const token = `ok:1:${T + 60}`;
  await cached.verify(token);
  state.onVerify = () => {};
  await cached.verify(token);
  assert.equal(state.calls, 2);
});

test("a token whose check began under the old keys is not cached, though another call already moved the cache to the new ones", async () => {
  let version = 0;
  let calls = 0;
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const verifier: CachableVerifier<Claims> = {
    async verify(token) {
      calls++;
      if (token.startsWith("slow:")) await gate;
      return Object.freeze({ claims: create(ClaimsSchema, { userId: 1n }), exp: T + 60, iat: undefined, jti: undefined });
    },
    keysVersion: () => version,
  };
  const cached = withVerifiedTokenCache(verifier, { maxEntries: 10, clock: clockAt(T) });
  const slow = cached.verify("slow:a"); // checked with the old keys
  version++; // a key is dropped meanwhile
  await cached.verify("fast:b"); // sees the new keys first
  release();
  await slow;
  await cached.verify("slow:a");
  assert.equal(calls, 3, "checked again: its first check may have used the dropped key");
  await cached.verify("fast:b");
  assert.equal(calls, 3, "the token checked under the new keys is cached");
});

test("failures are never cached", async () => {
  const { state, verifier } = countingVerifier();
  const cached = withVerifiedTokenCache(verifier, { maxEntries: 10, clock: clockAt(T) });
  await assert.rejects(async () => cached.verify("bad"), AuthError);
  await assert.rejects(async () => cached.verify("bad"), AuthError);
  assert.equal(state.calls, 2);
  // a token that failed once (the keys were not there yet) verifies later
  state.onVerify = () => {
    throw new AuthError("unavailable");
  };
  const token = `ok:1:${T + 60}`;
  await assert.rejects(async () => cached.verify(token), AuthError);
  state.onVerify = () => {};
  assert.equal((await cached.verify(token)).claims.userId, 1n);
  assert.equal(state.calls, 4);
});

test("at most maxEntries are kept, the oldest dropped first; 0 turns the cache off", async () => {
  const { state, verifier } = countingVerifier();
  const cached = withVerifiedTokenCache(verifier, { maxEntries: 2, clock: clockAt(T) });
  const a = `ok:1:${T + 60}`;
  const b = `ok:2:${T + 60}`;
  const c = `ok:3:${T + 60}`;
  for (const t of [a, b, c]) await cached.verify(t);
  assert.equal(state.calls, 3);
  await cached.verify(c);
  await cached.verify(b);
  assert.equal(state.calls, 3, "b and c are held");
  await cached.verify(a);
  assert.equal(state.calls, 4, "a was dropped");
  await cached.verify(b);
  assert.equal(state.calls, 5, "a's return dropped b, the oldest");

  const off = countingVerifier();
  const uncached = withVerifiedTokenCache(off.verifier, { maxEntries: 0 });
  assert.equal(uncached.verify, off.verifier.verify, "0: the verifier's own verify");
  await uncached.verify(a);
  await uncached.verify(a);
  assert.equal(off.state.calls, 2);
});

test("wrapping a codec keeps its other members, and real tokens are cached until they expire", async () => {
  const clock = clockAt(T);
  const codec = createJwtCodec({ keys: createKeyRing({ signing: await hmacKey("cache-test-secret-0123456789abcdef") }), claims: ClaimsSchema, unknownClaims: "reject", lifetime: 60, clock });
  let calls = 0;
  const counted = { ...codec, verify: (t: string) => (calls++, codec.verify(t)) };
  const cached = withVerifiedTokenCache(counted, { maxEntries: 100, clock });
  const { token } = await cached.issue({ userId: 5n, roles: ["a"] });
  assert.equal((await cached.verify(token)).claims.userId, 5n);
  assert.equal((await cached.verify(token)).claims.roles[0], "a");
  assert.equal(calls, 1);
  assert.equal(cached.keysVersion(), 0);
  // past exp (but within the codec's clock tolerance) the codec is asked again
  clock.ms = (T + 60) * 1000;
  assert.equal((await cached.verify(token)).claims.userId, 5n);
  assert.equal(calls, 2);
});
