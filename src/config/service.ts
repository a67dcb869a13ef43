import { int, port, section, str } from "./fields.js";

// The process and its two ports.

export const name = str({ yaml: "Name", default: "bookstore", doc: "name in log lines" });

export const host = str({ yaml: "Host", env: "HOST", default: "127.0.0.1", doc: "address both ports bind (`0.0.0.0` for all interfaces)" });

export const workers = int({
  yaml: "Workers",
  env: "WORKERS",
  default: 0,
  min: 0,
  max: 256,
  doc: "processes on the same ports (`--workers`); 0: one per core with Redis, else one",
});

export const user = section({
  yaml: "User",
  doc: "user.v1.UserService",
  fields: { port: int({ yaml: "Port", env: "USER_PORT", default: 8888, ...port, doc: "UserService port" }) },
});

export const search = section({
  yaml: "Search",
  doc: "search.v1.SearchService",
  fields: { port: int({ yaml: "Port", env: "SEARCH_PORT", default: 8889, ...port, doc: "SearchService port" }) },
});

export const dataDir = str({ yaml: "DataDir", default: "data", doc: "where the generated secret lives" });
