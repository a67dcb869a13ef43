import { Migrator, sql, type Kysely, type Migration, type MigrationResultSet } from "kysely";

/** Which SQL dialect a database speaks. */
export type Dialect = "sqlite" | "mysql";

/** Books seeded on first start, so the walk-through has something to find. */
export const demoCatalog: readonly { name: string; count: number }[] = [
  { name: "go-zero", count: 100 },
  { name: "Connect RPC in Practice", count: 12 },
  { name: "The Go Programming Language", count: 7 },
  { name: "Designing Data-Intensive Applications", count: 3 },
  { name: "Protocol Buffers Explained", count: 1 },
];

/**
 * The migrations, frozen in time: they take `Kysely<any>` and never import the live schema.
 * The same steps run on SQLite and MySQL; `dialect` only adds MySQL's table options
 * (utf8mb4, binary collation so `alice` and `Alice` are two users as on SQLite; NO PAD for
 * usernames, so `alice ` is not `alice` either).
 */
export function migrations(dialect: Dialect): Record<string, Migration> {
  const tableOptions = dialect === "mysql" ? sql`engine=InnoDB default charset=utf8mb4 collate=utf8mb4_bin` : sql``;
  return {
    "0001_create_user": {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable("user")
          .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
          .addColumn("username", "varchar(64)", (c) => c.notNull())
          .addColumn("password_hash", "varchar(255)", (c) => c.notNull())
          .addColumn("name", "varchar(255)", (c) => c.notNull().defaultTo(""))
          .addColumn("gender", "varchar(16)", (c) => c.notNull().defaultTo(""))
          .addColumn("created_at", "timestamp", (c) => c.notNull().defaultTo(sql`CURRENT_TIMESTAMP`))
          .modifyEnd(tableOptions)
          .execute();
        await db.schema.createIndex("user_username_unique").on("user").column("username").unique().execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.dropTable("user").execute();
      },
    },
    "0002_create_book": {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable("book")
          .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
          .addColumn("name", "varchar(255)", (c) => c.notNull())
          .addColumn("count", "integer", (c) => c.notNull().defaultTo(0))
          .modifyEnd(tableOptions)
          .execute();
        await db.schema.createIndex("book_name_unique").on("book").column("name").unique().execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.dropTable("book").execute();
      },
    },
    "0004_add_user_roles": {
      async up(db: Kysely<any>) {
        await db.schema.alterTable("user").addColumn("roles", "varchar(255)", (c) => c.notNull().defaultTo("")).execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.alterTable("user").dropColumn("roles").execute();
      },
    },
    "0005_create_refresh_sessions": {
      async up(db: Kysely<any>) {
        // a session is one login's family of refresh tokens; revoking it retires them all
        await db.schema
          .createTable("refresh_session")
          .addColumn("id", "varchar(64)", (c) => c.primaryKey())
          .addColumn("user_id", "integer", (c) => c.notNull())
          .addColumn("created_at", "bigint", (c) => c.notNull())
          .addColumn("revoked_at", "bigint")
          .modifyEnd(tableOptions)
          .execute();
        await db.schema.createIndex("refresh_session_user").on("refresh_session").column("user_id").execute();
        // refresh tokens by SHA-256 hash only: the table cannot be used to refresh
        await db.schema
          .createTable("refresh_token")
          .addColumn("token_hash", "varchar(64)", (c) => c.primaryKey())
          .addColumn("session_id", "varchar(64)", (c) => c.notNull())
          .addColumn("user_id", "integer", (c) => c.notNull())
          .addColumn("expires_at", "bigint", (c) => c.notNull())
          .addColumn("used_at", "bigint")
          .modifyEnd(tableOptions)
          .execute();
        await db.schema.createIndex("refresh_token_session").on("refresh_token").column("session_id").execute();
        await db.schema.createIndex("refresh_token_expires").on("refresh_token").column("expires_at").execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.dropTable("refresh_token").execute();
        await db.schema.dropTable("refresh_session").execute();
      },
    },
    "0006_create_auth_event": {
      async up(db: Kysely<any>) {
        // revocations and account changes, in order: every instance mirrors the live ones in memory
        await db.schema
          .createTable("auth_event")
          .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
          .addColumn("kind", "varchar(8)", (c) => c.notNull())
          .addColumn("subject", "varchar(128)", (c) => c.notNull())
          .addColumn("not_before", "bigint", (c) => c.notNull().defaultTo(0))
          .addColumn("expires_at", "bigint", (c) => c.notNull())
          .modifyEnd(tableOptions)
          .execute();
        await db.schema.createIndex("auth_event_expires").on("auth_event").column("expires_at").execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.dropTable("auth_event").execute();
      },
    },
    "0007_username_no_pad": {
      async up(db: Kysely<any>) {
        // utf8mb4_bin is PAD SPACE: "alice " would find alice. A NO PAD binary collation compares
        // exactly the string the login limits count (SQLite compares bytes already)
        if (dialect !== "mysql") return;
        const { rows } = await sql<{ name: string }>`select collation_name as name from information_schema.collations where collation_name in ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin')`.execute(db);
        const collation = rows.find((r) => r.name === "utf8mb4_nopad_bin")?.name ?? rows[0]?.name;
        if (collation === undefined) throw new Error("this MySQL/MariaDB has no NO PAD binary collation (MariaDB >= 10.2 or MySQL >= 8.0 needed)");
        await sql`alter table ${sql.table("user")} modify ${sql.ref("username")} varchar(64) character set utf8mb4 collate ${sql.raw(collation)} not null`.execute(db);
      },
      async down(db: Kysely<any>) {
        if (dialect !== "mysql") return;
        await sql`alter table ${sql.table("user")} modify ${sql.ref("username")} varchar(64) character set utf8mb4 collate utf8mb4_bin not null`.execute(db);
      },
    },
    "0003_seed_demo_catalog": {
      async up(db: Kysely<any>) {
        await db.insertInto("book").values(demoCatalog.map((b) => ({ ...b }))).execute();
      },
      async down(db: Kysely<any>) {
        await db.deleteFrom("book").where("name", "in", demoCatalog.map((b) => b.name)).execute();
      },
    },
  };
}

/**
 * Applies every pending migration. Returns the names applied; throws the first failure
 * (kysely runs each in a transaction where the dialect allows, so none is half-applied).
 */
export async function migrateToLatest(db: Kysely<any>, dialect: Dialect): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations(dialect) },
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) throw error;
  return appliedNames(results);
}

function appliedNames(results: MigrationResultSet["results"]): string[] {
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}
