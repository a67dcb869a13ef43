import http2 from "node:http2";

/** Result of a load run. */
export interface LoadResult {
  requests: number;
  errors: number;
  rps: number;
  p50ms: number;
  p99ms: number;
}

/**
 * Drives unary gRPC calls over h2c: `connections` sessions, each keeping `inFlight` calls
 * outstanding, for `seconds`. A call counts when its trailers say grpc-status 0.
 */
export async function grpcLoad(options: {
  url: string;
  path: string;
  message: Uint8Array;
  headers?: Record<string, string>;
  connections: number;
  inFlight: number;
  seconds: number;
}): Promise<LoadResult> {
  const frame = Buffer.alloc(5 + options.message.length);
  frame.writeUInt32BE(options.message.length, 1);
  frame.set(options.message, 5);
  const latencies: number[] = [];
  let requests = 0;
  let errors = 0;
  const deadline = performance.now() + options.seconds * 1000;
  const sessions = Array.from({ length: options.connections }, () => http2.connect(options.url));
  for (const s of sessions) s.on("error", () => undefined);
  const call = (session: http2.ClientHttp2Session) =>
    new Promise<void>((resolve) => {
      const started = performance.now();
      const stream = session.request({
        ":method": "POST",
        ":path": options.path,
        "content-type": "application/grpc",
        te: "trailers",
        ...options.headers,
      });
      let ok = false;
      stream.on("trailers", (t) => (ok = t["grpc-status"] === "0"));
      stream.on("response", (h) => {
        if (h["grpc-status"] !== undefined) ok = h["grpc-status"] === "0"; // trailers-only
      });
      stream.on("data", () => undefined);
      stream.on("error", () => undefined);
      stream.on("close", () => {
        if (ok) {
          requests++;
          latencies.push(performance.now() - started);
        } else errors++;
        resolve();
      });
      stream.end(frame);
    });
  const started = performance.now();
  await Promise.all(
    sessions.flatMap((s) =>
      Array.from({ length: options.inFlight }, async () => {
        while (performance.now() < deadline) await call(s);
      }),
    ),
  );
  const elapsed = (performance.now() - started) / 1000;
  for (const s of sessions) s.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { requests, errors, rps: requests / elapsed, p50ms: at(0.5), p99ms: at(0.99) };
}
