import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import type { DatabaseHandle } from "../../src/db/connect.js";
import { createMemoryCache } from "../../src/cache/memory-cache.js";
import { createRevocationMirror, sessionRevocation, tokenRevocation, userRevocation, type Revocation } from "../../src/auth/revocations.js";
import { createTokenService, type AccessToken, type TokenService } from "../../src/auth/tokens.js";
import { AppError } from "../../src/errors.js";
import { AccessClaimsSchema } from "../../src/gen/user/v1/claims_pb.js";
import type { Logger } from "../../src/logger.js";
import { createSessionStore, type SessionStore } from "../../src/user/session-store.js";
import { createSessions, endAllSessions, refreshKey } from "../../src/user/sessions.js";
import { createUserStore, type UserRecord, type UserStore } from "../../src/user/user-store.js";
import { coreSecret, manualClock, tempDatabase } from "./support.js";

const start = Date.UTC(2026, 0, 1) + 400; // not on a second: times are floored
const t0 = Math.floor(start / 1000);
const accessExpire = 3601; // odd: refreshAfter = iat + floor(3601 / 2)
const refreshExpire = 86_400;
const hashOf = (token: string) => createHash("sha256").update(token).digest("base64url");

let handle: DatabaseHandle;
before(async () => {
  handle = await tempDatabase();
});
after(() => handle.close());

let userCount = 0;

async function setup(o: { maxRevocations?: number; store?: (s: SessionStore) => SessionStore; users?: (u: UserStore) => Pick<UserStore, "findById">; tokens?: (t: TokenService) => TokenService } = {}) {
  const clock = manualClock(start);
  const realStore = createSessionStore(handle.db);
  const store = o.store?.(realStore) ?? realStore;
  const userStore = createUserStore(handle.db);
  const username = `user${++userCount}`;
  const id = await userStore.insert({ username, passwordHash: "x", name: username, gender: "", roles: ["reader"] });
  const user = (await userStore.findById(id))!;
  const cache = createMemoryCache({ maxEntries: 1000, clock });
  const realTokens = await createTokenService({ secret: coreSecret, accessExpire, refreshExpire, clock });
  const tokens = o.tokens?.(realTokens) ?? realTokens;
  const mirror = createRevocationMirror(clock);
  const published: Revocation[][] = [];
  const revocations = {
    async publish(...r: Revocation[]) {
      published.push(r);
      for (const x of r) mirror.apply(x);
    },
    get size() {
      return mirror.size;
    },
  };
  const warnings: [Record<string, unknown>, string][] = [];
  const logger = { warn: (fields: Record<string, unknown>, msg: string) => warnings.push([fields, msg]) } as unknown as Logger;
  const sessions = createSessions({
    store,
    cache,
    tokens,
    users: o.users?.(userStore) ?? userStore,
    revocations,
    clock,
    accessExpire,
    maxRevocations: o.maxRevocations ?? 100,
    logger,
  });
  /** Whether the access token would be let in now: it verifies and is not revoked. */
  const letIn = async (token: string) => {
    try {
      return !mirror.isRevoked(await realTokens.verify(token));
    } catch {
      return false;
    }
  };
  const sidOf = async (token: string) => (await realTokens.verify(token)).claims.sid!;
  return { clock, store: realStore, userStore, user, cache, tokens: realTokens, mirror, published, warnings, sessions, letIn, sidOf };
}

async function refused(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AppError, String(err));
    assert.equal(err.kind, "refresh_invalid");
    return err;
  }
  assert.fail("refresh was accepted");
}

describe("sessions: start", () => {
  test("a login starts a session: an access token in it, a refresh token stored by hash and cached until it expires", async () => {
    const { sessions, user, tokens, store, cache, clock, sidOf, letIn } = await setup();
    const pair = await sessions.start(user);
    const access = await tokens.verify(pair.accessToken);
    const sid = await sidOf(pair.accessToken);
    assert.match(sid, /^[A-Za-z0-9_-]{22}$/, "16 random bytes");
    assert.deepEqual(access.claims.roles, ["reader"]);
    assert.equal(access.claims.userId, BigInt(user.id));
    assert.equal(pair.accessExpire, t0 + accessExpire);
    assert.equal(pair.refreshAfter, t0 + 1800);
    assert.equal(pair.refreshExpire, t0 + refreshExpire);
    const refresh = await tokens.verifyRefresh(pair.refreshToken);
    assert.equal(refresh.sid, sid);
    assert.equal(refresh.userId, user.id);
    assert.equal(await letIn(pair.accessToken), true);

    const hash = hashOf(pair.refreshToken);
    const record = { sessionId: sid, userId: user.id, expiresAt: t0 + refreshExpire };
    assert.deepEqual(await store.find(hash), record);
    const row = await handle.db.selectFrom("refresh_session").selectAll().where("id", "=", sid).executeTakeFirstOrThrow();
    assert.deepEqual({ ...row, user_id: Number(row.user_id), created_at: Number(row.created_at) }, { id: sid, user_id: user.id, created_at: t0, revoked_at: null });
    assert.equal(refreshKey(hash), `cache:refresh:${hash}`);
    assert.deepEqual(JSON.parse((await cache.get(refreshKey(hash)))!), record);
    clock.advance(refreshExpire * 1000 - 1); // the lifetime (expiresAt - now, in whole seconds) counts from the write
    assert.notEqual(await cache.get(refreshKey(hash)), undefined);
    clock.advance(1);
    assert.equal(await cache.get(refreshKey(hash)), undefined, "cached for the token's remaining seconds");
  });

  test("two logins are two sessions", async () => {
    const { sessions, user, sidOf } = await setup();
    const a = await sessions.start(user);
    const b = await sessions.start(user);
    assert.notEqual(await sidOf(a.accessToken), await sidOf(b.accessToken));
  });

  test("while the session store cannot be written: an access token without a session, no refresh token", async () => {
    const { sessions, user, tokens, warnings, letIn } = await setup({
      store: (s) => ({ ...s, start: async () => Promise.reject(Object.assign(new Error("busy"), { code: "SQLITE_BUSY" })) }),
    });
    const pair = await sessions.start(user);
    assert.equal(pair.refreshToken, "");
    assert.equal(pair.refreshExpire, 0);
    assert.equal(pair.accessExpire, t0 + accessExpire);
    assert.equal(pair.refreshAfter, t0 + 1800);
    const access = await tokens.verify(pair.accessToken);
    assert.equal(access.claims.sid, undefined, "no session to name");
    assert.deepEqual(access.claims.roles, ["reader"]);
    assert.equal(await letIn(pair.accessToken), true);
    assert.deepEqual(warnings, [[{ userId: user.id, code: "SQLITE_BUSY" }, "session store unavailable; login without a refresh token"]]);
  });

  test("any other store error fails the login", async () => {
    const boom = new Error("bug");
    const { sessions, user } = await setup({ store: (s) => ({ ...s, start: async () => Promise.reject(boom) }) });
    await assert.rejects(sessions.start(user), (err) => err === boom);
  });
});

describe("sessions: refresh", () => {
  test("rotation: the token is exchanged for a new pair in the same session, and retired", async () => {
    const { sessions, user, clock, tokens, sidOf, store, cache, letIn } = await setup();
    const first = await sessions.start(user);
    clock.advance(60_000);
    const second = await sessions.refresh(first.refreshToken);
    const sid = await sidOf(first.accessToken);
    assert.equal(await sidOf(second.accessToken), sid);
    assert.notEqual(second.refreshToken, first.refreshToken);
    assert.equal(second.accessExpire, t0 + 60 + accessExpire);
    assert.equal(second.refreshAfter, t0 + 60 + 1800);
    assert.equal(second.refreshExpire, t0 + 60 + refreshExpire);
    assert.equal((await tokens.verifyRefresh(second.refreshToken)).sid, sid);
    const record = { sessionId: sid, userId: user.id, expiresAt: t0 + 60 + refreshExpire };
    assert.deepEqual(await store.find(hashOf(second.refreshToken)), record);
    assert.deepEqual(JSON.parse((await cache.get(refreshKey(hashOf(second.refreshToken))))!), record);
    assert.equal(await letIn(second.accessToken), true);
    const third = await sessions.refresh(second.refreshToken);
    assert.equal(await sidOf(third.accessToken), sid);
  });

  test("reuse of a retired token revokes the whole session: its access tokens and its newest refresh token", async () => {
    const { sessions, user, clock, sidOf, published, warnings, letIn } = await setup();
    const first = await sessions.start(user);
    const sid = await sidOf(first.accessToken);
    clock.advance(5000);
    const second = await sessions.refresh(first.refreshToken);
    assert.deepEqual(published, []);
    clock.advance(5000);
    await refused(sessions.refresh(first.refreshToken));
    assert.deepEqual(published, [[sessionRevocation(sid, t0 + 10, accessExpire)]]);
    assert.deepEqual(warnings, [[{ userId: user.id, sessionTag: sid.slice(0, 8) }, "refresh token reused or session ended; session revoked"]]);
    assert.equal(await letIn(first.accessToken), false);
    assert.equal(await letIn(second.accessToken), false);
    await refused(sessions.refresh(second.refreshToken));
    const row = await handle.db.selectFrom("refresh_session").select("revoked_at").where("id", "=", sid).executeTakeFirstOrThrow();
    assert.equal(Number(row.revoked_at), t0 + 10);
  });

  test("surrounding whitespace is ignored", async () => {
    const { sessions, user } = await setup();
    const pair = await sessions.start(user);
    const next = await sessions.refresh(` ${pair.refreshToken}\n`);
    assert.ok(next.refreshToken.length > 0);
    await refused(sessions.refresh(pair.refreshToken));
  });

  test("a token that does not verify is refresh_invalid with the reason as cause; other errors pass through", async () => {
    const { sessions, user, clock, published } = await setup();
    assert.equal((await refused(sessions.refresh("garbage"))).cause, "malformed");
    const pair = await sessions.start(user);
    assert.equal((await refused(sessions.refresh(pair.accessToken))).cause, "bad_claims", "an access token is no refresh token");
    clock.advance((refreshExpire + 30) * 1000);
    assert.equal((await refused(sessions.refresh(pair.refreshToken))).cause, "expired");
    assert.deepEqual(published, [], "nothing revoked for a token that did not verify");
    const boom = new Error("keys unavailable");
    const broken = await setup({ tokens: (t) => ({ ...t, verifyRefresh: async () => Promise.reject(boom) }) });
    await assert.rejects(broken.sessions.refresh("x"), (err) => err === boom);
  });

  test("a well-signed token that was never stored is refused without revoking anything", async () => {
    const { sessions, user, tokens, published } = await setup();
    const forged = await tokens.issueRefresh(user.id, "no-such-session");
    const err = await refused(sessions.refresh(forged.token));
    assert.equal(err.cause, undefined);
    assert.deepEqual(published, []);
  });

  test("the cached record is read first; the store only on a miss", async () => {
    let finds = 0;
    const { sessions, user, cache } = await setup({ store: (s) => ({ ...s, find: (h) => (finds++, s.find(h)) }) });
    const pair = await sessions.start(user);
    const next = await sessions.refresh(pair.refreshToken);
    assert.equal(finds, 0);
    await cache.del(refreshKey(hashOf(next.refreshToken)));
    await sessions.refresh(next.refreshToken);
    assert.equal(finds, 1, "a miss reads the store");
  });

  test("a corrupt cache entry is a miss", async () => {
    const { sessions, user, cache, sidOf } = await setup();
    const entries = (sid: string, userId: number) => [
      "not json",
      "null",
      "[]",
      JSON.stringify({ sessionId: 5, userId, expiresAt: 1 }),
      JSON.stringify({ sessionId: sid, userId: String(userId), expiresAt: 1 }),
      JSON.stringify({ sessionId: sid, userId, expiresAt: "1" }),
      JSON.stringify({ userId, expiresAt: 1 }),
    ];
    const pair0 = await sessions.start(user);
    const sid = await sidOf(pair0.accessToken);
    let token = pair0.refreshToken;
    for (const entry of entries(sid, user.id)) {
      await cache.set(refreshKey(hashOf(token)), entry, 60);
      token = (await sessions.refresh(token)).refreshToken;
    }
  });

  test("a record that names another session or user is refused, before the token is used", async () => {
    const { sessions, user, cache, sidOf, published } = await setup();
    const pair = await sessions.start(user);
    const sid = await sidOf(pair.accessToken);
    const key = refreshKey(hashOf(pair.refreshToken));
    const good = (await cache.get(key))!;
    await cache.set(key, JSON.stringify({ sessionId: "other", userId: user.id, expiresAt: t0 + refreshExpire }), 60);
    await refused(sessions.refresh(pair.refreshToken));
    await cache.set(key, JSON.stringify({ sessionId: sid, userId: user.id + 1000, expiresAt: t0 + refreshExpire }), 60);
    await refused(sessions.refresh(pair.refreshToken));
    assert.deepEqual(published, []);
    await cache.set(key, good, 60);
    await sessions.refresh(pair.refreshToken); // it was not consumed by the refusals
  });

  test("a token of an ended session is refused and the session revoked again", async () => {
    const { sessions, user, tokens, published, warnings } = await setup();
    const pair = await sessions.start(user);
    const access = await tokens.verify(pair.accessToken);
    await sessions.end(access);
    published.length = 0;
    await refused(sessions.refresh(pair.refreshToken));
    assert.deepEqual(published, [[sessionRevocation(access.claims.sid!, t0, accessExpire)]]);
    assert.equal(warnings.length, 1);
  });

  test("a token expired in the store (the record outlived it) is refused", async () => {
    const { sessions, user, clock } = await setup({ store: (s) => ({ ...s, consume: (h) => s.consume(h, t0 + refreshExpire) }) });
    const pair = await sessions.start(user);
    clock.advance(1000);
    await refused(sessions.refresh(pair.refreshToken));
  });

  test("a user deleted since is refused and the session revoked", async () => {
    let gone = false;
    const { sessions, user, clock, sidOf, published, letIn } = await setup({ users: (u) => ({ findById: async (id) => (gone ? undefined : u.findById(id)) }) });
    const pair = await sessions.start(user);
    clock.advance(2000);
    gone = true;
    await refused(sessions.refresh(pair.refreshToken));
    assert.deepEqual(published, [[sessionRevocation(await sidOf(pair.accessToken), t0 + 2, accessExpire)]]);
    assert.equal(await letIn(pair.accessToken), false);
  });

  test("the new access token carries the user's roles as they are now", async () => {
    let roles: string[] = ["reader"];
    const { sessions, user, tokens } = await setup({
      users: (u) => ({ findById: async (id) => ({ ...(await u.findById(id))!, roles }) as UserRecord }),
    });
    const pair = await sessions.start(user);
    roles = ["admin"];
    const next = await sessions.refresh(pair.refreshToken);
    assert.deepEqual((await tokens.verify(next.accessToken)).claims.roles, ["admin"]);
  });
});

describe("sessions: end", () => {
  test("logout ends the session and revokes the token itself", async () => {
    const { sessions, user, tokens, published, letIn, clock } = await setup();
    const pair = await sessions.start(user);
    const other = await sessions.start(user);
    clock.advance(3000);
    const access = await tokens.verify(pair.accessToken);
    await sessions.end(access);
    assert.deepEqual(published, [[tokenRevocation(access.jti!, access.exp), sessionRevocation(access.claims.sid!, t0 + 3, accessExpire)]]);
    assert.equal(await letIn(pair.accessToken), false);
    assert.equal(await letIn(other.accessToken), true, "the user's other session is untouched");
    await refused(sessions.refresh(pair.refreshToken));
    await sessions.refresh(other.refreshToken);
  });

  test("a token without a session: only the token is revoked, no session touched", async () => {
    let revokes = 0;
    const { sessions, user, tokens, published, letIn } = await setup({ store: (s) => ({ ...s, revoke: (...a) => (revokes++, s.revoke(...a)) }) });
    const { token } = await tokens.issue(user.id);
    const access = await tokens.verify(token);
    await sessions.end(access);
    assert.deepEqual(published, [[tokenRevocation(access.jti!, access.exp)]]);
    assert.equal(revokes, 0);
    assert.equal(await letIn(token), false);
  });

  test("a token without a jti (go-zero's): only its session is revoked", async () => {
    const { sessions, user, sidOf, published } = await setup();
    const pair = await sessions.start(user);
    const sid = await sidOf(pair.accessToken);
    const access: AccessToken = { claims: create(AccessClaimsSchema, { userId: BigInt(user.id), sid }), iat: t0, exp: t0 + 100, jti: undefined };
    await sessions.end(access);
    assert.deepEqual(published, [[sessionRevocation(sid, t0, accessExpire)]]);
    await refused(sessions.refresh(pair.refreshToken));
  });

  test("with the revocation list full (size = max), logout ends every session of the user with one cut-off", async () => {
    const { sessions, user, tokens, published, warnings, mirror, letIn } = await setup({ maxRevocations: 3 });
    const a = await sessions.start(user);
    const b = await sessions.start(user);
    const sidA = (await tokens.verify(a.accessToken)).claims.sid!;
    const sidB = (await tokens.verify(b.accessToken)).claims.sid!;
    mirror.apply(tokenRevocation("filler", t0 + 1000));
    const c = await sessions.start(user);
    const sidC = (await tokens.verify(c.accessToken)).claims.sid!;
    await sessions.end(await tokens.verify(c.accessToken)); // size 1 < 3: the normal logout
    assert.equal(published.length, 1);
    assert.equal(published[0]!.length, 2);
    assert.equal(mirror.size, 3);
    published.length = 0;
    const accessA = await tokens.verify(a.accessToken);
    const { size } = mirror;
    assert.equal(size, 3, "exactly at the limit");
    await sessions.end(accessA);
    assert.equal(published.length, 1);
    const [revs] = published;
    assert.deepEqual(revs![0], userRevocation(user.id, t0, accessExpire));
    assert.deepEqual(new Set(revs!.slice(1)), new Set([sessionRevocation(sidA, t0, accessExpire), sessionRevocation(sidB, t0, accessExpire)]));
    assert.ok(!revs!.some((r) => r.subject === sidC), "the ended session is not revoked again");
    assert.deepEqual(warnings, [[{ userId: user.id, revocations: size }, "revocation list full; logout ends every session of the user"]]);
    assert.equal(await letIn(b.accessToken), false);
    await refused(sessions.refresh(b.refreshToken));
  });

  test("one below the limit, logout is the normal one", async () => {
    const { sessions, user, tokens, published, warnings } = await setup({ maxRevocations: 1 });
    const a = await sessions.start(user);
    await sessions.end(await tokens.verify(a.accessToken));
    assert.equal(published[0]![0]!.kind, "jti");
    assert.deepEqual(warnings, []);
  });
});

describe("sessions: endAll", () => {
  test("ends every live session of the user and every access token issued so far", async () => {
    const { sessions, user, tokens, published, letIn, clock } = await setup();
    const a = await sessions.start(user);
    const b = await sessions.start(user);
    const sids = [await tokens.verify(a.accessToken), await tokens.verify(b.accessToken)].map((t) => t.claims.sid!);
    const bare = (await tokens.issue(user.id)).token;
    clock.advance(7000);
    assert.equal(await sessions.endAll(user.id), 2);
    const [revs] = published;
    assert.deepEqual(revs![0], userRevocation(user.id, t0 + 7, accessExpire));
    assert.deepEqual(new Set(revs!.slice(1)), new Set(sids.map((sid) => sessionRevocation(sid, t0 + 7, accessExpire))));
    assert.equal(revs!.length, 3);
    for (const t of [a.accessToken, b.accessToken, bare]) assert.equal(await letIn(t), false);
    await refused(sessions.refresh(a.refreshToken));
    await refused(sessions.refresh(b.refreshToken));
    const after = await sessions.start(user);
    assert.equal(await letIn(after.accessToken), true, "a login after the change gets in");
    published.length = 0;
    assert.equal(await sessions.endAll(user.id), 1);
    assert.equal(await endAllSessions({ store: createSessionStore(handle.db), revocations: { publish: async () => {} }, clock, accessExpire }, user.id), 0);
  });
});
