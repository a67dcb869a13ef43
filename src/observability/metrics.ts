import { collectDefaultMetrics, Counter, Histogram, Registry } from "prom-client";
import { clusterRender } from "./cluster-metrics.js";

/** What the server counts; rendered in the Prometheus text format at `GET /metrics`. */
export interface Metrics {
  /** One finished call: `method` as `package.Service/Method`, `code` a Connect code name or "ok". */
  call(method: string, code: string, seconds: number): void;
  /** A refused token, by reason (missing, malformed, bad_signature, expired, ...). */
  authFailure(reason: string): void;
  /** A user lookup answered by the cache ("hit") or the database ("miss"). */
  cacheLookup(result: "hit" | "miss"): void;
  /** A book lookup answered by the cache ("hit") or the database ("miss"). */
  bookCacheLookup(result: "hit" | "miss"): void;
  /** A call whose client went away before its answer (connection closed, stream reset). */
  clientAbort(): void;
  /** A unary call served by the lean bridge (http/lean-unary/), by protocol. */
  leanUnaryCall(protocol: "connect" | "grpc"): void;
  render(): Promise<string>;
  readonly contentType: string;
}

/**
 * A counter with one label, bumped on a hot path (every warm `Do` looks a book up): counted in
 * plain numbers and handed to prom-client when a scrape collects it, since its `inc` hashes and
 * checks the labels each time. A value appears once it has been counted, as with `inc`.
 */
function scrapeTimeCounter(registry: Registry, name: string, help: string, labelName: string): (value: string) => void {
  const counts = new Map<string, number>();
  new Counter({
    name,
    help,
    labelNames: [labelName],
    registers: [registry],
    collect() {
      this.reset();
      for (const [value, n] of counts) this.inc({ [labelName]: value }, n);
    },
  });
  return (value) => void counts.set(value, (counts.get(value) ?? 0) + 1);
}

/**
 * Creates the metrics of one process, in a registry of their own; `process` adds Node's own.
 * With `cluster` (a worker of `--workers N`), `render` gives the sum over every worker,
 * gathered by the primary (see cluster-metrics.ts).
 */
export function createMetrics(options: { process?: boolean; cluster?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.process) collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: "rpc_requests_total",
    help: "RPC calls by method and result code",
    labelNames: ["method", "code"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "rpc_request_duration_seconds",
    help: "RPC call latency by method",
    labelNames: ["method"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const authFailures = new Counter({
    name: "auth_failures_total",
    help: "Refused access tokens by reason",
    labelNames: ["reason"],
    registers: [registry],
  });
  const cache = scrapeTimeCounter(registry, "user_cache_lookups_total", "User lookups answered by the cache (hit) or the database (miss)", "result");
  const bookCache = scrapeTimeCounter(registry, "book_cache_lookups_total", "Book lookups answered by the cache (hit) or the database (miss)", "result");
  const logins = new Counter({
    name: "login_total",
    help: "Login outcomes: success, bad_credentials, invalid_argument, limited, unavailable, error",
    labelNames: ["outcome"],
    registers: [registry],
  });
  const aborts = new Counter({
    name: "rpc_client_aborts_total",
    help: "Calls whose client went away before the answer",
    registers: [registry],
  });
  const lean = new Counter({
    name: "rpc_lean_unary_total",
    help: "Unary calls served by the lean bridge, by protocol (the rest take Connect's own handler)",
    labelNames: ["protocol"],
    registers: [registry],
  });
  const loginOutcome: Record<string, string> = {
    ok: "success",
    unauthenticated: "bad_credentials",
    invalid_argument: "invalid_argument",
    unavailable: "unavailable",
    // the login limits (oversized messages are refused before any interceptor sees the call)
    resource_exhausted: "limited",
  };
  return {
    call(method, code, seconds) {
      requests.inc({ method, code });
      duration.observe({ method }, seconds);
      if (method === "user.v1.UserService/Login") logins.inc({ outcome: loginOutcome[code] ?? "error" });
    },
    authFailure: (reason) => authFailures.inc({ reason }),
    cacheLookup: cache,
    bookCacheLookup: bookCache,
    clientAbort: () => aborts.inc(),
    leanUnaryCall: (protocol) => lean.inc({ protocol }),
    render: options.cluster ? clusterRender(registry) : () => registry.metrics(),
    contentType: registry.contentType,
  };
}
