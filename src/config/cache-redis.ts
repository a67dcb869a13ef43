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
  // what each mode needs, checked when the file is read rather than when Redis is first dialled
  check: (r, name) => {
    if (r.url === "") return undefined;
    if (r.type === "sentinel" && r.sentinelName === "") return `${name("sentinelName")} is required when ${name("type")} is sentinel`;
    const db = new URL(r.url).pathname.slice(1);
    if (r.type === "cluster" && db !== "" && Number(db) !== 0) {
      return `${name("url")}: a Redis Cluster has only database 0`;
    }
    const bad = r.nodes.find((n) => !hostPortPattern.test(n));
    return bad === undefined ? undefined : `${name("nodes")}: ${bad} is not host:port`;
  },
});

/** `host:port`, or `[v6 address]:port`: a sentinel or cluster seed. */
export const hostPortPattern = /^\[?([^\]]+?)\]?:(\d{1,5})$/;
