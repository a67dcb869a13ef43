import { enumOf, int, list, millis, optionalUrl, section, str } from "./fields.js";

export const cacheRedis = section({
  yaml: "CacheRedis",
  doc: "Redis for the cached user model, revocation announcements and login limits; empty Url: all in-process",
  fields: {
    type: enumOf({
      yaml: "Type",
      env: "REDIS_TYPE",
      values: ["node", "sentinel", "cluster"],
      expected: "node, sentinel or cluster",
      default: "node",
      doc: "`node`, `sentinel` or `cluster` (see \"Running in production\")",
    }),
    url: str({
      yaml: "Url",
      env: "REDIS_URL",
      default: "",
      ...optionalUrl(["redis:", "rediss:"]),
      doc: "`redis://[:pass@]host:port/db`; empty: in-process cache",
    }),
    // "file paths" is what the loader has always said here
    nodes: list({
      yaml: "Nodes",
      env: "REDIS_NODES",
      default: [],
      what: "file paths",
      ok: (p) => p !== "",
      item: { minLength: 1 },
      doc: "more sentinels or cluster seeds, `host:port`",
    }),
    sentinelName: str({ yaml: "SentinelName", env: "REDIS_SENTINEL_NAME", default: "", doc: "the primary's name the sentinels watch" }),
    keyPrefix: str({ yaml: "KeyPrefix", default: "bookstore:", doc: "prefix of every key, for a shared Redis" }),
    connectTimeoutMs: int({ yaml: "ConnectTimeout", default: 1000, ...millis, doc: "ms to connect to Redis" }),
    commandTimeoutMs: int({ yaml: "CommandTimeout", default: 500, ...millis, doc: "ms; a slower Redis counts as a miss" }),
  },
});
