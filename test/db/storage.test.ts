import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createPasswordHasher } from "../../src/auth/password.js";
import { openDatabase, type DatabaseHandle } from "../../src/db/connect.js";
import { demoCatalog, migrateToLatest } from "../../src/db/migrations.js";
import { AppError } from "../../src/errors.js";
import { createBookStore } from "../../src/search/book-store.js";
import { searchBook } from "../../src/search/search-book.js";
import { addUser } from "../../src/user/manage-users.js";
import { createUserStore } from "../../src/user/user-store.js";
import { resetDatabase, tempDir, testDataSources, testPasswordCost } from "../harness.js";

const dir = tempDir();
after(() => dir.remove());

for (const { dialect, dataSource, skip } of testDataSources(dir.path)) {
  describe(`storage on ${dialect}`, { skip }, () => {
    let handle: DatabaseHandle;
    before(async () => {
      await resetDatabase(dataSource);
      handle = openDatabase(dataSource);
    });
    after(() => handle.close());

    test("migrations apply once and are idempotent", async () => {
      const first = await migrateToLatest(handle.db, handle.dialect);
      assert.deepEqual(first, ["0001_create_user", "0002_create_book", "0003_seed_demo_catalog", "0004_add_user_roles", "0005_create_refresh_sessions", "0006_create_auth_event", "0007_username_no_pad"]);
      assert.deepEqual(await migrateToLatest(handle.db, handle.dialect), []);
    });

    test("the demo catalog is seeded and searchable; unknown books count 0", async () => {
      const books = createBookStore(handle.db);
      for (const b of demoCatalog) assert.deepEqual(await searchBook({ books }, b.name), b);
      assert.deepEqual(await searchBook({ books }, "GO-ZERO"), { name: "GO-ZERO", count: 0 });
      assert.deepEqual(await searchBook({ books }, "nothing"), { name: "nothing", count: 0 });
    });

    test("users: insert, find, unique usernames (case-sensitive on every dialect)", async () => {
      const users = createUserStore(handle.db);
      const passwords = createPasswordHasher({ params: testPasswordCost });
      const id = await addUser({ users, passwords }, { username: "alice", password: "pa55word-alice", name: "Alice", gender: "female" });
      const found = await users.findByUsername("alice");
      assert.equal(found?.id, id);
      assert.equal(found?.name, "Alice");
      assert.equal(found?.gender, "female");
      assert.match(found!.passwordHash, /^\$argon2id\$v=19\$m=256,t=1,p=1\$/);
      assert.ok(!found!.passwordHash.includes("pa55word-alice"));
      assert.equal(await passwords.verify("pa55word-alice", found!.passwordHash), true);

      await assert.rejects(
        addUser({ users, passwords }, { username: "alice", password: "another-password" }),
        (err) => err instanceof AppError && err.kind === "already_exists",
      );
      const other = await addUser({ users, passwords }, { username: "Alice", password: "pa55word-Alice" });
      assert.notEqual(other, id);
      assert.equal((await users.findByUsername("ALICE")), undefined);
    });

    test("SQL metacharacters in names are data", async () => {
      const users = createUserStore(handle.db);
      const books = createBookStore(handle.db);
      assert.equal(await users.findByUsername("' OR '1'='1"), undefined);
      assert.deepEqual(await searchBook({ books }, "x'; DROP TABLE book; --"), { name: "x'; DROP TABLE book; --", count: 0 });
      assert.deepEqual(await searchBook({ books }, "go-zero"), { name: "go-zero", count: 100 });
    });
  });
}
