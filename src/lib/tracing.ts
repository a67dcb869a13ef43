import { context, SpanKind, SpanStatusCode, trace, type Attributes } from "@opentelemetry/api";

// Spans through @opentelemetry/api only: without an SDK registered (observability/otel.ts
// registers one when the OTEL_* variables ask for it) every call here is a no-op.

/** The bookstore's tracer; a proxy until a tracer provider is registered, then that provider's. */
export const tracer = trace.getTracer("bookstore");

/**
 * Runs `work` in a child span of the active one (none without a parent: background work makes
 * no root spans). A thrown error marks the span and is rethrown.
 */
export async function inSpan<T>(name: string, attributes: Attributes, work: () => Promise<T>): Promise<T> {
  if (trace.getActiveSpan() === undefined) return work();
  const span = tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes });
  try {
    return await context.with(trace.setSpan(context.active(), span), work);
  } catch (err) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error | null)?.name ?? "error" });
    throw err;
  } finally {
    span.end();
  }
}

/**
 * A finished client call as a child span of the active one, given when it started (epoch ms):
 * how a query is recorded from kysely's log event, which comes once the query is done. The
 * attributes are only built when there is a span to record them on.
 */
export function recordClientSpan(name: string, attributes: () => Attributes, startedAtMs: number, failed: boolean): void {
  if (trace.getActiveSpan() === undefined) return;
  const span = tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes: attributes(), startTime: startedAtMs });
  if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

/** What a Redis command looks like to {@link traceRedisCommands}: ioredis's `Command`. */
interface RedisCommand {
  name: string;
  promise: Promise<unknown>;
}

/**
 * Gives each command an ioredis client sends a client span (`redis GET`), a child of the call
 * that issued it; the keys and values are not recorded.
 */
export function traceRedisCommands<C extends { sendCommand(command: never, ...rest: never[]): unknown }>(client: C): C {
  const send = client.sendCommand.bind(client) as (command: RedisCommand, ...rest: unknown[]) => unknown;
  (client as unknown as { sendCommand: typeof send }).sendCommand = (command, ...rest) => {
    if (trace.getActiveSpan() === undefined) return send(command, ...rest);
    const span = tracer.startSpan(`redis ${command.name.toUpperCase()}`, {
      kind: SpanKind.CLIENT,
      attributes: { "db.system": "redis", "db.operation": command.name },
    });
    const result = send(command, ...rest);
    command.promise.then(
      () => span.end(),
      () => {
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      },
    );
    return result;
  };
  return client;
}
