import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import SqliteDatabase from "better-sqlite3";
import { Kysely, MysqlDialect, SqliteDialect, type LogEvent } from "kysely";
import { createPool } from "mysql2";
import { recordClientSpan } from "../lib/tracing.js";
import type { Dialect } from "./migrations.js";
import type { Database } from "./schema.js";

/** An open database: the query builder, its dialect, and how to close it. */
export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  close(): Promise<void>;
}

/**
 * Opens the database a data source names: `sqlite:PATH` (created with its folder if missing,
 * WAL mode so several processes can share it), `sqlite::memory:`, or
 * `mysql://user:pass@host:port/db` (a pool of `poolSize` connections with bounded timeouts).
 */
export function openDatabase(
  dataSource: string,
  options: { poolSize?: number; connectTimeoutMs?: number; onQuery?: (sql: string) => void } = {},
): DatabaseHandle {
  const { onQuery } = options;
  const system = dataSource.startsWith("sqlite:") ? "sqlite" : "mysql";
  // every query: a span when tracing is on (the statement as written, never its parameters)
  const log = (e: LogEvent) => {
    if (e.level === "query") onQuery?.(e.query.sql);
    const attributes = () => ({ "db.system": system, "db.statement": e.query.sql });
    recordClientSpan(`db ${system}`, attributes, Date.now() - e.queryDurationMillis, e.level === "error");
  };
  if (dataSource.startsWith("sqlite:")) {
    const path = dataSource.slice("sqlite:".length);
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    const sqlite = new SqliteDatabase(path, { timeout: 5000 });
    if (path !== ":memory:") sqlite.pragma("journal_mode = WAL");
    sqlite.pragma("foreign_keys = ON");
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }), log });
    return { db, dialect: "sqlite", close: () => db.destroy() };
  }
  const pool = createPool({
    uri: dataSource,
    connectionLimit: options.poolSize ?? 10,
    connectTimeout: options.connectTimeoutMs ?? 2000,
    enableKeepAlive: true,
    charset: "utf8mb4",
    dateStrings: false,
  });
  const db = new Kysely<Database>({ dialect: new MysqlDialect({ pool }), log });
  return { db, dialect: "mysql", close: () => db.destroy() };
}
