import type { Logger } from "../logger.js";

/**
 * Whether the standard OpenTelemetry variables ask for traces over OTLP: `OTEL_TRACES_EXPORTER`
 * naming `otlp`, or, when it is unset, an `OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT`; never with
 * `OTEL_SDK_DISABLED=true`.
 */
export function otlpTracesWanted(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return false;
  const exporters = env.OTEL_TRACES_EXPORTER?.trim();
  if (exporters) return exporters.split(",").some((e) => e.trim() === "otlp");
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * Starts the OpenTelemetry SDK when the `OTEL_*` variables ask for OTLP traces: a Node tracer
 * provider (AsyncLocalStorage context, W3C trace context) batching spans to the OTLP/HTTP
 * (protobuf) exporter, which reads its endpoint, headers and timeouts from the same variables;
 * `service.name` is `bookstore` unless `OTEL_SERVICE_NAME` or `OTEL_RESOURCE_ATTRIBUTES` say
 * otherwise. Its packages are optional dependencies: without them this warns and traces
 * nothing. Resolves with the function that flushes and stops it.
 */
export async function startTracing(env: NodeJS.ProcessEnv, logger: Logger): Promise<() => Promise<void>> {
  const none = async () => undefined;
  if (!otlpTracesWanted(env)) return none;
  let sdk: typeof import("@opentelemetry/sdk-trace-node");
  let otlp: typeof import("@opentelemetry/exporter-trace-otlp-proto");
  let resources: typeof import("@opentelemetry/resources");
  try {
    [sdk, otlp, resources] = await Promise.all([
      import("@opentelemetry/sdk-trace-node"),
      import("@opentelemetry/exporter-trace-otlp-proto"),
      import("@opentelemetry/resources"),
    ]);
  } catch {
    logger.warn("OTEL_* asks for OTLP traces, but the optional OpenTelemetry packages are not installed; not tracing");
    return none;
  }
  const resource = resources
    .resourceFromAttributes({ "service.name": "bookstore" })
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new sdk.NodeTracerProvider({ resource, spanProcessors: [new sdk.BatchSpanProcessor(new otlp.OTLPTraceExporter())] });
  provider.register();
  logger.info("tracing: spans go to OTLP (OTEL_* variables)");
  return () => provider.shutdown();
}
