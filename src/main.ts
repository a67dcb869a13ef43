import { readFileSync } from "node:fs";
import { ConfigError, settingName, type Config } from "./config.js";
import { createServiceRoutes, type ServiceName } from "./routes.js";
import { createClientAddressValues, createTrustedCheck } from "./http/client-address.js";
import { withCors } from "./http/cors.js";
import { withProbes } from "./http/probes.js";
import { withJwks } from "./http/jwks.js";
import { createNodeAdapter } from "./http/node-adapter.js";
import type { NodeHandler } from "./http/node-handler.js";
import { createPortServer, type PortServer } from "./server.js";
import { openServiceContext, type ServiceContext, type ServiceContextOptions } from "./wiring/app.js";
import { startBackgroundJobs } from "./wiring/jobs.js";

/** A running bookstore: the bound ports and one way to stop everything. */
export interface Bookstore {
  /** Every long-lived resource of the process (closed by {@link Bookstore.close}). */
  readonly resources: ServiceContext;
  /** The port each served service is bound to. */
  readonly ports: Readonly<Partial<Record<ServiceName, number>>>;
  /** Stops the listeners (in-flight calls finish within `graceMs`), then the background jobs, then closes the resources. */
  close(graceMs?: number): Promise<void>;
}

/**
 * The composition root: config -> resources (`wiring/`) and their background jobs -> one port
 * per service. Each port serves Connect (JSON and binary) and gRPC-Web over HTTP/1.1, and all
 * three protocols over h2c.
 * `only` serves a single service; by default both are served.
 *
 * @example
 * const app = await startBookstore(loadConfig({ env: process.env }));
 * // ... later
 * await app.close();
 */
export async function startBookstore(
  config: Config,
  options: ServiceContextOptions & { only?: ServiceName; leanUnary?: boolean } = {},
): Promise<Bookstore> {
  const names: ServiceName[] = options.only ? [options.only] : ["user", "search"];
  const resources = await openServiceContext(config, { signs: names.includes("user"), ...options });
  const stopJobs = startBackgroundJobs(resources);
  const servers: PortServer[] = [];
  const ports: Partial<Record<ServiceName, number>> = {};
  const close = async (graceMs?: number) => {
    resources.health.shutDown();
    await Promise.all(servers.map((s) => s.close(graceMs)));
    stopJobs();
    await resources.close();
  };
  try {
    const tls = readTls(config);
    const wanted = { user: config.user.port, search: config.search.port };
    const clientAddress = createClientAddressValues(config.trustedProxies);
    const trustedPeer = createTrustedCheck(config.trustedProxies);
    for (const name of names) {
      const { routes, interceptors } = createServiceRoutes(resources, name);
      const handler = createNodeAdapter({
        routes,
        leanUnary: options.leanUnary,
        interceptors,
        readMaxBytes: config.limits.readMaxBytes,
        requestTimeoutMs: config.limits.requestTimeoutMs,
        pendingBodyBytes: { perConnection: config.limits.maxPendingBodyBytesPerConnection, total: config.limits.maxPendingBodyBytes },
        logger: resources.logger,
        onClientAbort: resources.metrics.clientAbort,
        onLeanCall: resources.metrics.leanUnaryCall,
        contextValues: clientAddress,
        // `"count": "0"` rather than nothing, as curl users of the tutorial expect; unknown fields are refused
        jsonOptions: { alwaysEmitImplicit: true, ignoreUnknownFields: false },
      }) as NodeHandler;
      const probed = withProbes(handler, resources.health, resources.metrics);
      const published = name === "user" ? withJwks(probed, resources.tokens.publicJwks) : probed;
      const server = createPortServer(withCors(published, config.cors.allowedOrigins), {
        logger: resources.logger,
        limits: config.limits,
        tls,
        exemptAddress: trustedPeer,
      });
      servers.push(server);
      ports[name] = await listen(server, wanted[name], config.host, name);
      resources.logger.info({ service: name, host: config.host, port: ports[name], tls: tls !== undefined }, "listening");
    }
  } catch (err) {
    await close(0);
    throw err;
  }
  if (config.cacheRedis.url === "") {
    resources.logger.info("single-instance mode: cache, revocations and login limits live in this process; set REDIS_URL (CacheRedis.Url) to run more than one");
  }
  return { resources, ports, close };
}

/** Binds a port; one that is taken or not allowed is refused naming its setting (`User.Port (USER_PORT)`). */
async function listen(server: PortServer, port: number, host: string, name: ServiceName): Promise<number> {
  try {
    return await server.listen(port, host);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException | null)?.code;
    if (code === "EADDRINUSE") throw new ConfigError(`${settingName(name, "port")}: address ${host}:${port} is already in use`, { cause: err });
    if (code === "EACCES") throw new ConfigError(`${settingName(name, "port")}: not allowed to listen on ${host}:${port}`, { cause: err });
    throw err;
  }
}

/** Reads `CertFile` / `KeyFile` when both are set; one without the other refuses to start. */
function readTls(config: Config): { cert: Buffer; key: Buffer } | undefined {
  const { certFile, keyFile } = config.tls;
  if (certFile === "" && keyFile === "") return undefined;
  if (certFile === "" || keyFile === "") throw new ConfigError("config: CertFile and KeyFile go together");
  const read = (path: string, key: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(`config: cannot read ${key} ${path}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
    }
  };
  return { cert: read(certFile, "CertFile"), key: read(keyFile, "KeyFile") };
}
