import type { ConnectRouter, ContextValues, Interceptor } from "@connectrpc/connect";
import type { Config } from "./config.js";
import { createClientAddressValues } from "./http/client-address.js";
import type { NodeRequest } from "./http/node-handler.js";
import { createServiceRoutes, type ServiceName } from "./routes.js";
import { openServiceContext, type ServiceContext, type ServiceContextOptions } from "./wiring/app.js";
import { startBackgroundJobs } from "./wiring/jobs.js";

/** The bookstore's services, ready to mount in a server you already run: see {@link openBookstoreRoutes}. */
export interface BookstoreRoutes {
  /** Registers the services, health and reflection on a Connect router. */
  routes(router: ConnectRouter): void;
  /** Tracing, access log, error mapping, auth and the field rules, in that order. */
  interceptors: Interceptor[];
  /** Each call's client address (for the login limits), from the Node request. */
  contextValues(req: NodeRequest): ContextValues;
  /** Every long-lived resource (database, cache, keys, revocations, logger). */
  resources: ServiceContext;
  /** Stops the background jobs and closes the resources; stop your server first. */
  close(): Promise<void>;
}

/**
 * The services for an existing Express, Fastify or Node HTTP server, with the same auth,
 * rules, logs and metrics as `bookstore serve`: pass `routes`, `interceptors` and
 * `contextValues` to `@connectrpc/connect-express` or `@connectrpc/connect-fastify`. What the
 * bookstore's own ports add in front (header and body limits, h2c, TLS, CORS, the probes) is
 * then the host server's to provide.
 *
 * @example
 * const bookstore = await openBookstoreRoutes(loadConfig({ env: process.env }));
 * await app.register(fastifyConnectPlugin, bookstore); // routes, interceptors, contextValues
 */
export async function openBookstoreRoutes(
  config: Config,
  options: ServiceContextOptions & { services?: readonly ServiceName[] } = {},
): Promise<BookstoreRoutes> {
  const names = options.services ?? ["user", "search"];
  const resources = await openServiceContext(config, { signs: names.includes("user"), ...options });
  const stopJobs = startBackgroundJobs(resources);
  const { routes, interceptors } = createServiceRoutes(resources, names);
  return {
    routes,
    interceptors,
    contextValues: createClientAddressValues(config.trustedProxies),
    resources,
    async close() {
      resources.health.shutDown();
      stopJobs();
      await resources.close();
    },
  };
}
