import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import {
  createRevocationMirror,
  deletedUserRevocation,
  sessionRevocation,
  tokenRevocation,
  userRevocation,
} from "../../src/auth/revocations.js";
import type { AccessToken } from "../../src/auth/tokens.js";
import { AccessClaimsSchema } from "../../src/gen/user/v1/claims_pb.js";
import { manualClock } from "./support.js";

const t0 = 1_800_000_000; // seconds
const token = (o: { userId?: number; sid?: string; jti?: string; iat?: number; exp?: number } = {}): AccessToken => ({
  claims: create(AccessClaimsSchema, { userId: BigInt(o.userId ?? 7), sid: o.sid }),
  iat: "iat" in o ? o.iat : t0,
  exp: o.exp ?? t0 + 3600,
  jti: o.jti,
});
const setup = () => {
  const clock = manualClock(t0 * 1000);
  return { clock, mirror: createRevocationMirror(clock) };
};
/** Sets the clock to `s` seconds (a fraction allowed). */
const at = (clock: ReturnType<typeof manualClock>, s: number) => clock.advance(s * 1000 - clock.now());

describe("revocation mirror", () => {
  test("a revoked jti is refused until its expiry instant, not at it", () => {
    const { clock, mirror } = setup();
    mirror.apply(tokenRevocation("j1", t0 + 100));
    assert.equal(mirror.isRevoked(token({ jti: "j1" })), true);
    assert.equal(mirror.isRevoked(token({ jti: "j2" })), false, "another jti is not revoked");
    assert.equal(mirror.isRevoked(token()), false, "a token without jti is not revoked by a jti entry");
    at(clock, t0 + 100 - 0.001);
    assert.equal(mirror.isRevoked(token({ jti: "j1" })), true, "still live a millisecond before");
    at(clock, t0 + 100);
    assert.equal(mirror.isRevoked(token({ jti: "j1" })), false, "pointless at exp: the token itself is expired");
  });

  test("a revoked session refuses every token carrying its sid, until expiry", () => {
    const { clock, mirror } = setup();
    mirror.apply(sessionRevocation("s1", t0, 600));
    assert.equal(mirror.isRevoked(token({ sid: "s1" })), true);
    assert.equal(mirror.isRevoked(token({ sid: "s1", jti: "other" })), true);
    assert.equal(mirror.isRevoked(token({ sid: "s2" })), false);
    assert.equal(mirror.isRevoked(token()), false, "a token without sid");
    at(clock, t0 + 660 - 0.001);
    assert.equal(mirror.isRevoked(token({ sid: "s1" })), true);
    at(clock, t0 + 660);
    assert.equal(mirror.isRevoked(token({ sid: "s1" })), false);
  });

  test("jti and sid entries are kept apart: the same string in the other claim is not revoked", () => {
    const { mirror } = setup();
    mirror.apply(tokenRevocation("x", t0 + 100));
    assert.equal(mirror.isRevoked(token({ sid: "x" })), false, "a jti revocation does not revoke a session named alike");
    mirror.apply(sessionRevocation("y", t0, 100));
    assert.equal(mirror.isRevoked(token({ jti: "y" })), false, "a session revocation does not revoke a jti named alike");
    assert.equal(mirror.isRevoked(token({ sid: "y" })), true);
    assert.equal(mirror.isRevoked(token({ jti: "x" })), true);
  });

  test("re-applying keeps the later expiry (either order)", () => {
    const { clock, mirror } = setup();
    mirror.apply(tokenRevocation("j", t0 + 200));
    mirror.apply(tokenRevocation("j", t0 + 100));
    mirror.apply(sessionRevocation("s", t0, 100)); // until t0 + 160
    mirror.apply(sessionRevocation("s", t0, 300)); // until t0 + 360
    mirror.apply(sessionRevocation("s", t0, 50)); // until t0 + 110
    assert.equal(mirror.size, 2, "one entry per subject");
    at(clock, t0 + 150);
    assert.equal(mirror.isRevoked(token({ jti: "j" })), true, "the earlier expiry did not shorten it");
    at(clock, t0 + 300);
    assert.equal(mirror.isRevoked(token({ sid: "s" })), true);
    assert.equal(mirror.isRevoked(token({ jti: "j" })), false);
    at(clock, t0 + 360);
    assert.equal(mirror.isRevoked(token({ sid: "s" })), false);
  });

  test("a user cut-off refuses tokens issued before it, not at or after it, and tokens without iat", () => {
    const { clock, mirror } = setup();
    mirror.apply(userRevocation(7, t0 + 10, 600)); // notBefore t0+10, until t0+670
    assert.equal(mirror.isRevoked(token({ iat: t0 + 9 })), true);
    assert.equal(mirror.isRevoked(token({ iat: t0 + 10 })), false, "issued in the cut-off second: after the change");
    assert.equal(mirror.isRevoked(token({ iat: t0 + 11 })), false);
    assert.equal(mirror.isRevoked(token({ iat: undefined })), true, "no iat cannot show it came later");
    assert.equal(mirror.isRevoked(token({ userId: 8, iat: t0 })), false, "another user");
    at(clock, t0 + 670 - 0.001);
    assert.equal(mirror.isRevoked(token({ iat: t0 })), true);
    at(clock, t0 + 670);
    assert.equal(mirror.isRevoked(token({ iat: t0 })), false, "expired cut-off");
    assert.equal(mirror.isRevoked(token({ iat: undefined })), false);
  });

  test("a user cut-off only moves forward, and its expiry too", () => {
    const { clock, mirror } = setup();
    mirror.apply(userRevocation(7, t0 + 100, 600)); // nb t0+100, until t0+760
    mirror.apply(userRevocation(7, t0 + 50, 100)); // nb t0+50, until t0+210
    assert.equal(mirror.size, 1);
    assert.equal(mirror.isRevoked(token({ iat: t0 + 99 })), true, "the earlier cut-off did not move it back");
    at(clock, t0 + 700);
    assert.equal(mirror.isRevoked(token({ iat: t0 + 99 })), true, "nor shorten its life");
    mirror.apply(userRevocation(7, t0 + 200, 0)); // nb moves to t0+200; until stays t0+760
    assert.equal(mirror.isRevoked(token({ iat: t0 + 150 })), true);
    assert.equal(mirror.isRevoked(token({ iat: t0 + 200 })), false);
  });

  test("a user subject that is not a safe integer is ignored", () => {
    const { mirror } = setup();
    for (const subject of ["abc", "1.5", "9007199254740993", "NaN"]) {
      mirror.apply({ kind: "user", subject, notBefore: t0 + 10, expiresAt: t0 + 100 });
    }
    assert.equal(mirror.size, 0);
    mirror.apply({ kind: "user", subject: "0", notBefore: t0 + 10, expiresAt: t0 + 100 });
    assert.equal(mirror.size, 1, "0 is a safe integer");
  });

  test("a deleted user's tokens are all refused, even those stamped later", () => {
    const { mirror } = setup();
    mirror.apply(deletedUserRevocation(7, t0, 600));
    assert.equal(mirror.isRevoked(token({ iat: t0 + 600 })), true);
    assert.equal(mirror.isRevoked(token({ iat: t0 + 659 })), true);
    assert.equal(mirror.isRevoked(token({ userId: 70, iat: t0 })), false);
  });

  test("size counts every kind; sweep drops entries at their expiry and keeps the rest", () => {
    const { clock, mirror } = setup();
    assert.equal(mirror.size, 0);
    mirror.apply(tokenRevocation("j", t0 + 100));
    mirror.apply(sessionRevocation("s", t0, 40)); // t0 + 100
    mirror.apply(userRevocation(7, t0, 40)); // t0 + 100
    mirror.apply(tokenRevocation("j2", t0 + 200));
    mirror.apply(sessionRevocation("s2", t0, 140)); // t0 + 200
    mirror.apply(userRevocation(8, t0, 140)); // t0 + 200
    assert.equal(mirror.size, 6);
    at(clock, t0 + 100 - 0.001);
    mirror.sweep();
    assert.equal(mirror.size, 6, "nothing expired yet");
    at(clock, t0 + 100);
    mirror.sweep();
    assert.equal(mirror.size, 3, "the three expiring at t0+100 are gone");
    assert.equal(mirror.isRevoked(token({ jti: "j2" })), true);
    assert.equal(mirror.isRevoked(token({ sid: "s2" })), true);
    assert.equal(mirror.isRevoked(token({ userId: 8, iat: t0 - 1 })), true);
    at(clock, t0 + 200);
    mirror.sweep();
    assert.equal(mirror.size, 0);
  });

  test("the revocation factories: expiry is now + AccessExpire + 60 s", () => {
    assert.deepEqual(tokenRevocation("j", 123), { kind: "jti", subject: "j", notBefore: 0, expiresAt: 123 });
    assert.deepEqual(sessionRevocation("s", 1000, 300), { kind: "sid", subject: "s", notBefore: 0, expiresAt: 1360 });
    assert.deepEqual(userRevocation(9, 1000, 300), { kind: "user", subject: "9", notBefore: 1000, expiresAt: 1360 });
    assert.deepEqual(deletedUserRevocation(9, 1000, 300), { kind: "user", subject: "9", notBefore: 1360, expiresAt: 1360 });
  });
});
