import { int, section, seconds } from "./fields.js";

const limit = { min: 1, max: 100_000_000 } as const;

export const loginLimits = section({
  yaml: "LoginLimits",
  doc: "brute-force limits on Login, counted in Redis when CacheRedis.Url is set, else in-process",
  fields: {
    maxFailuresPerUser: int({
      yaml: "MaxFailuresPerUser",
      default: 5,
      ...limit,
      doc: "failed logins per username from one client address in the window; then that pair is locked (`resource_exhausted`, `retry-after`)",
    }),
    maxAttemptsPerAddress: int({
      yaml: "MaxAttemptsPerAddress",
      default: 100,
      ...limit,
      doc: "login attempts per client address (the peer, or from `X-Forwarded-For` through `TrustedProxies`) in the window",
    }),
    slowdownAfter: int({
      yaml: "SlowdownAfter",
      default: 10,
      ...limit,
      doc: "failed logins per username from all addresses in the window; after them attempts are spaced 1 s, 2 s, 4 s ... apart",
    }),
    maxDelaySeconds: int({ yaml: "MaxDelay", default: 60, ...seconds, doc: "seconds; the longest spacing" }),
    windowSeconds: int({
      yaml: "Window",
      default: 900,
      ...seconds,
      doc: "seconds; counters live in Redis when `REDIS_URL` is set (shared by instances; in-process while it is down), else in-process",
    }),
  },
});
