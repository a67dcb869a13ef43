import { bool, checkUrl, InvalidValue, int, millis, section, str } from "./fields.js";

function checkDataSource(v: string): void {
  if (v.startsWith("sqlite:")) {
    if (v.length === "sqlite:".length) throw new InvalidValue("needs a path after sqlite:");
    return;
  }
  if (v.startsWith("mysql:")) {
    const url = checkUrl(v, ["mysql:"]);
    if (url.pathname.length <= 1) throw new InvalidValue("must name a database (mysql://user:pass@host:port/db)");
    return;
  }
  throw new InvalidValue("must start with sqlite: or mysql://");
}

export const database = section({
  yaml: "Database",
  doc: "where users, sessions and revocations are kept",
  fields: {
    dataSource: str({
      yaml: "DataSource",
      env: "DATABASE_URL",
      default: "sqlite:data/bookstore.db",
      check: checkDataSource,
      schema: { pattern: String.raw`^(?:sqlite:.|mysql://|\$\{)` },
      doc: "`sqlite:PATH` or `mysql://user:pass@host:port/db`",
    }),
    autoMigrate: bool({ yaml: "AutoMigrate", default: true, doc: "apply migrations when serving starts" }),
    poolSize: int({ yaml: "PoolSize", default: 10, min: 1, max: 1000, doc: "MySQL connections per process" }),
    connectTimeoutMs: int({ yaml: "ConnectTimeout", default: 2000, ...millis, doc: "ms to open a MySQL connection" }),
    queryTimeoutMs: int({ yaml: "QueryTimeout", default: 2000, ...millis, doc: "ms a lookup may take before the call is `unavailable`" }),
  },
});
