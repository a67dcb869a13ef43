import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { createAuthInterceptor, methodName, resolvePolicies } from "protogate";
import type { CachedVerifier } from "protogate/jwt";
import { realm } from "./auth/caller.js";
import type { RevocationMirror } from "./auth/revocations.js";
import type { AccessToken, TokenService } from "./auth/tokens.js";
import type { Config } from "./config.js";
import { AppError } from "./errors.js";
import { createErrorInterceptor } from "./error-interceptor.js";
import { createFieldRulesInterceptor } from "./field-rules.js";
import { createAccessLogInterceptor } from "./observability/access-log.js";
import { createTracingInterceptor } from "./observability/tracing.js";
import { Health } from "./gen/health/v1/health_pb.js";
import { SearchService } from "./gen/search/v1/search_pb.js";
import { createHealthService } from "./health/health-service.js";
import type { HealthState } from "./health/health-state.js";
import type { Logger } from "./logger.js";
import type { Metrics } from "./observability/metrics.js";
import { reflectionServices, ServerReflectionV1, ServerReflectionV1alpha } from "./reflection/reflection-service.js";
import { UserService } from "./gen/user/v1/user_pb.js";
import { createSearchService, type SearchServiceDeps } from "./search/search-service.js";
import { createUserService, type UserServiceDeps } from "./user/user-service.js";

/** The services this process can serve, by the name `--only` takes. */
export type ServiceName = "user" | "search";

/** What the services need, whichever a port serves. */
export type ServicesDeps = UserServiceDeps & SearchServiceDeps;

/** Each service's descriptor and how to register its implementation. */
export const services: Readonly<
  Record<ServiceName, { desc: DescService; register(router: ConnectRouter, deps: ServicesDeps): void }>
> = {
  user: { desc: UserService, register: (router, deps) => router.service(UserService, createUserService(deps)) },
  search: { desc: SearchService, register: (router, deps) => router.service(SearchService, createSearchService(deps)) },
};

/** What a port's routes and interceptors need: the services', and readiness, logs, metrics and auth. */
export interface RoutesDeps extends UserServiceDeps, SearchServiceDeps {
  health: HealthState;
  logger: Logger;
  metrics: Metrics;
  tokens: Pick<CachedVerifier<TokenService>, "verify" | "peek">;
  /** This process's revocation mirror, and whether it has been loaded yet. */
  revocations: Pick<RevocationMirror, "isRevoked"> & { readonly synced: boolean };
  config: { readonly auth: Pick<Config["auth"], "revocationFailOpen"> };
}

/**
 * Infrastructure every port serves, public by explicit policy: their .proto files come from npm
 * packages and cannot carry our option.
 */
export const publicInfrastructure: ReadonlySet<string> = new Set([
  Health.typeName,
  ServerReflectionV1.typeName,
  ServerReflectionV1alpha.typeName,
]);

/** Every service a port serves: its own (one or more), health, and reflection (v1 and v1alpha). */
export function portServices(name: ServiceName | readonly ServiceName[]): DescService[] {
  const names = typeof name === "string" ? [name] : name;
  return [...names.map((n) => services[n].desc), Health, ServerReflectionV1, ServerReflectionV1alpha];
}

/**
 * The routes and interceptors for one service (a port of `bookstore serve`), or several on one
 * router (a host app's, see mount.ts): the same pair serves a real port (`connectNodeAdapter`),
 * an in-memory transport (`createRouterTransport`) or connect-express/connect-fastify. Resolving
 * the auth policy of every method happens here and throws if one cannot be resolved.
 */
export function createServiceRoutes(
  deps: RoutesDeps,
  name: ServiceName | readonly ServiceName[],
): { routes: (router: ConnectRouter) => void; interceptors: Interceptor[] } {
  const names = typeof name === "string" ? [name] : name;
  const served = portServices(names);
  const policies = resolvePolicies(served, publicInfrastructure);
  const reflection = reflectionServices(served);
  return {
    routes: (router) => {
      for (const n of names) services[n].register(router, deps);
      router.service(Health, createHealthService(deps.health, names.map((n) => services[n].desc.typeName)));
      router.service(ServerReflectionV1, reflection.v1);
      router.service(ServerReflectionV1alpha, reflection.v1alpha);
    },
    interceptors: [
      createTracingInterceptor(),
      createAccessLogInterceptor(deps.logger, deps.metrics),
      createErrorInterceptor(deps.logger),
      createAuthInterceptor({
        policies,
        verify: deps.tokens.verify,
        peek: deps.tokens.peek,
        isRevoked: revocationCheck(deps),
        realm,
        onReject({ reason, method, tokenTag }) {
          deps.metrics.authFailure(reason);
          deps.logger.warn({ reason, method: methodName(method), tokenTag }, "access token rejected");
        },
        onDenied({ method, claims, missingRoles }) {
          deps.logger.warn({ method: methodName(method), userId: Number(claims.userId), missingRoles }, "permission denied");
        },
      }),
      // after auth: a caller without a valid token learns nothing of the field rules
      createFieldRulesInterceptor(),
    ],
  };
}

/**
 * The revocation check, against this process's mirror (no round trip per call). Until the
 * mirror has been loaded nothing is known: `unavailable`, unless `Auth.RevocationFailOpen`.
 */
function revocationCheck(deps: Pick<RoutesDeps, "revocations" | "config">): (token: AccessToken) => boolean {
  const { revocations } = deps;
  const failOpen = deps.config.auth.revocationFailOpen;
  return (token) => {
    if (!revocations.synced && !failOpen) throw new AppError("unavailable", "revocations not loaded yet");
    return revocations.isRevoked(token);
  };
}
