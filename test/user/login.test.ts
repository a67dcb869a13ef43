import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { randomBytes, scryptSync } from "node:crypto";
import { decodeJwt } from "jose";
import { createPasswordHasher } from "../../src/auth/password.js";
import { createTokenService } from "../../src/auth/tokens.js";
import { openDatabase, type DatabaseHandle } from "../../src/db/connect.js";
import { migrateToLatest } from "../../src/db/migrations.js";
import { AppError } from "../../src/errors.js";
import { addUser } from "../../src/user/manage-users.js";
import { login } from "../../src/user/login.js";
import { createUserStore } from "../../src/user/user-store.js";
import { manualClock, memoryLogger, resetDatabase, tempDir, testDataSources, testSecret } from "../harness.js";
import { createMemoryCache } from "../../src/cache/memory-cache.js";
import { createSessionStore } from "../../src/user/session-store.js";
import { createSessions } from "../../src/user/sessions.js";

const dir = tempDir();
after(() => dir.remove());

for (const { dialect, dataSource, skip } of testDataSources(dir.path)) {
  describe(`login on ${dialect}`, { skip }, () => {
    let handle: DatabaseHandle;
    let deps: Parameters<typeof login>[0];
    const clock = manualClock(Date.UTC(2026, 5, 1));
    let aliceId: number;

    before(async () => {
      await resetDatabase(dataSource);
      handle = openDatabase(dataSource);
      await migrateToLatest(handle.db, handle.dialect);
      const users = createUserStore(handle.db);
      // a cost high enough that skipping the hash would show in the timing test below
      const passwords = createPasswordHasher();
      const tokens = await createTokenService({ secret: testSecret(), accessExpire: 600, clock });
      const sessions = createSessions({
        store: createSessionStore(handle.db),
        cache: createMemoryCache({ maxEntries: 100, clock }),
        tokens,
        users,
        revocations: { publish: async () => undefined, size: 0 },
        clock,
        accessExpire: 600,
        maxRevocations: 1000,
        logger: memoryLogger().logger,
      });
      deps = { users, passwords, sessions };
      aliceId = await addUser({ users, passwords }, { username: "alice", password: "alice-password", name: "Alice", gender: "f" });
    });
    after(() => handle.close());

    test("success returns the profile and a token with exp = iat + AccessExpire", async () => {
      const r = await login(deps, { username: "alice", password: "alice-password" });
      const now = Math.floor(clock.now() / 1000);
      assert.deepEqual(
        { id: r.id, name: r.name, gender: r.gender, accessExpire: r.accessExpire, refreshAfter: r.refreshAfter },
        { id: aliceId, name: "Alice", gender: "f", accessExpire: now + 600, refreshAfter: now + 300 },
      );
      const claims = decodeJwt(r.accessToken);
      assert.equal(claims.userId, aliceId);
      assert.equal(claims.iat, now);
      assert.equal(claims.exp, now + 600);
    });

    test("roles from the user record are issued into the token", async () => {
      await addUser({ users: deps.users, passwords: deps.passwords }, { username: "root", password: "root-password", roles: ["admin", "auditor"] });
      const r = await login(deps, { username: "root", password: "root-password" });
      assert.deepEqual(decodeJwt(r.accessToken).roles, ["admin", "auditor"]);
      assert.equal(decodeJwt((await login(deps, { username: "alice", password: "alice-password" })).accessToken).roles, undefined);
      await assert.rejects(addUser({ users: deps.users, passwords: deps.passwords }, { username: "x", password: "x-password", roles: ["bad role"] }), (e) => e instanceof AppError && e.kind === "invalid_argument");
    });

    const badCredentials = (err: unknown) => err instanceof AppError && err.kind === "bad_credentials" && err.detail === undefined;

    test("unknown user and wrong password fail alike", async () => {
      await assert.rejects(login(deps, { username: "mallory", password: "alice-password" }), badCredentials);
      await assert.rejects(login(deps, { username: "alice", password: "Alice-password" }), badCredentials);
      await assert.rejects(login(deps, { username: "ALICE", password: "alice-password" }), badCredentials);
    });

    test("an unknown user costs the work of a wrong password: one argon2id verify at the same parameters", async () => {
      // the real hasher, its two costly operations counted (each still does its work)
      const calls: { op: "hash" | "verify"; stored?: string }[] = [];
      const { hash, verify } = deps.passwords;
      deps.passwords.hash = (password) => (calls.push({ op: "hash" }), hash(password));
      deps.passwords.verify = (password, stored) => (calls.push({ op: "verify", stored }), verify(password, stored));
      const work = async (username: string) => {
        calls.length = 0;
        await assert.rejects(login(deps, { username, password: "wrong-password" }), badCredentials);
        return calls.map((c) => ({ op: c.op, shape: c.stored?.split("$").map((part, i) => (i < 4 ? part : part.length)) }));
      };
      try {
        await work("nobody"); // the first unknown user makes the dummy hash, once
        const alice = (await deps.users.findByUsername("alice"))!.passwordHash;
        const wrongPassword = await work("alice");
        // algorithm, version, m/t/p and the salt's and hash's lengths: what argon2id's cost depends on
        assert.deepEqual(wrongPassword, [{ op: "verify", shape: ["", "argon2id", "v=19", "m=19456,t=2,p=1", 22, 43] }]);
        assert.equal(alice.startsWith("$argon2id$v=19$m=19456,t=2,p=1$"), true);
        for (let i = 0; i < 3; i++) assert.deepEqual(await work(`nobody-${i}`), wrongPassword, `unknown user ${i}`);
      } finally {
        deps.passwords.hash = hash;
        deps.passwords.verify = verify;
      }
    });

    test("an unknown user takes about the time a wrong password takes (ratio of medians, interleaved)", async () => {
      const time = async (username: string) => {
        const t = process.hrtime.bigint();
        await login(deps, { username, password: "wrong-password" }).catch(() => undefined);
        return Number(process.hrtime.bigint() - t);
      };
      await time("nobody");
      const known: number[] = [];
      const unknown: number[] = [];
      for (let i = 0; i < 9; i++) {
        known.push(await time("alice"));
        unknown.push(await time(`nobody-${i}`));
      }
      const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
      const ratio = median(unknown) / median(known);
      // skipping the hash makes this ~0.01 and hashing twice ~2; noise on shared cores stays well inside
      assert.ok(ratio > 0.33 && ratio < 3, `unknown/known login time ratio ${ratio.toFixed(2)}`);
    });

    test("a stored scrypt hash still verifies, is replaced by argon2id at the next successful login, and not by a failed one", async () => {
      const salt = randomBytes(16);
      const legacy = `$scrypt$ln=10,r=8,p=1$${salt.toString("base64")}$${scryptSync("legacy-password", salt, 32, { N: 1024, r: 8, p: 1 }).toString("base64")}`;
      const id = await deps.users.insert({ username: "legacy", passwordHash: legacy, name: "Legacy", gender: "", roles: [] });
      assert.equal(deps.passwords.needsRehash(legacy), true);
      await assert.rejects(login(deps, { username: "legacy", password: "wrong-password" }), (e) => e instanceof AppError && e.kind === "bad_credentials");
      assert.equal((await deps.users.findById(id))!.passwordHash, legacy, "a failed login changes nothing");
      const r = await login(deps, { username: "legacy", password: "legacy-password" });
      assert.equal(r.id, id);
      const upgraded = (await deps.users.findById(id))!.passwordHash;
      assert.match(upgraded, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/, "OWASP's parameters");
      assert.equal(deps.passwords.needsRehash(upgraded), false);
      assert.equal((await login(deps, { username: "legacy", password: "legacy-password" })).id, id, "the same password, now on argon2id");
      // a password changed between the check and the upgrade wins
      assert.equal(await deps.users.rehashPassword(id, legacy, await deps.passwords.hash("legacy-password")), false);
    });

    test("stored hashes with out-of-bounds or corrupt parameters are refused without the work", async () => {
      const good = await deps.passwords.hash("some-password");
      for (const bad of [
        good.replace("m=19456", "m=99999999"),
        good.replace("t=2", "t=99"),
        good.replace("$argon2id$", "$argon2i$"),
        good.slice(0, -4),
        "$scrypt$ln=30,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "",
      ]) {
        assert.equal(await deps.passwords.verify("some-password", bad), false, bad);
      }
      assert.equal(await deps.passwords.verify("some-password", good), true);
    });
  });
}
