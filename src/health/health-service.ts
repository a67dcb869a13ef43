import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../gen/health/v1/health_pb.js";
import type { HealthState, Serving } from "./health-state.js";

const toProto = (s: Serving) => (s === "serving" ? Status.SERVING : Status.NOT_SERVING);

/**
 * grpc.health.v1.Health for one port: `""` (the whole server) and each service on the port.
 * Check of an unknown service is `not_found`; Watch of one streams SERVICE_UNKNOWN, as the
 * protocol asks. Watch ends once the server is shutting down, after saying NOT_SERVING.
 */
export function createHealthService(health: HealthState, services: readonly string[]): ServiceImpl<typeof Health> {
  const known = new Set(["", ...services]);
  return {
    check(req) {
      if (!known.has(req.service)) throw new ConnectError(`unknown service ${req.service}`, Code.NotFound);
      return { status: toProto(health.status()) };
    },
    async *watch(req, ctx) {
      if (!known.has(req.service)) {
        yield { status: Status.SERVICE_UNKNOWN };
        return;
      }
      const queue: Serving[] = [health.status()];
      let wake: (() => void) | undefined;
      const stop = health.watch((s) => {
        queue.push(s);
        wake?.();
      });
      const aborted = new Promise<void>((r) => ctx.signal.addEventListener("abort", () => r(), { once: true }));
      try {
        for (;;) {
          while (queue.length > 0) {
            const s = queue.shift()!;
            yield { status: toProto(s) };
            if (health.shuttingDown) return;
          }
          await Promise.race([new Promise<void>((r) => (wake = r)), aborted]);
          if (ctx.signal.aborted) return;
        }
      } finally {
        stop();
      }
    },
    list() {
      const statuses: Record<string, { status: Status }> = {};
      for (const name of known) statuses[name] = { status: toProto(health.status()) };
      return { statuses };
    },
  };
}
