// Shared by the fast tests of the auth core (test/core/*.test.ts). Deliberately small: these
// files are rerun once per mutant by `npx stryker run`, so nothing here imports the server
// (test/harness.ts pulls in the whole app, ~2 s per process).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase, type DatabaseHandle } from "../../src/db/connect.js";
import { migrateToLatest } from "../../src/db/migrations.js";

export { manualClock } from "../manual-clock.js";

/** A migrated SQLite database file in a temporary folder; `close()` closes and removes it. */
export async function tempDatabase(): Promise<DatabaseHandle> {
  const dir = mkdtempSync(join(tmpdir(), "bookstore-core-"));
  const handle = openDatabase(`sqlite:${join(dir, "core.sqlite")}`);
  await migrateToLatest(handle.db, handle.dialect);
  return {
    ...handle,
    async close() {
      await handle.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A 32-byte HS256 secret (fixed, so failures reproduce). */
export const coreSecret = "core-test-secret-0123456789-abcdefghijklmnop";
