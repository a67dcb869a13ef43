import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { createAuthInterceptor, methodName, resolvePolicies } from "protogate";
import { realm } from "./auth/caller.js";
import type { AccessToken } from "./auth/tokens.js";
import { AppError } from "./errors.js";
import { createErrorInterceptor } from "./error-interceptor.js";
import { createAccessLogInterceptor } from "./observability/access-log.js";
import { Health } from "./gen/health/v1/health_pb.js";
import { SearchService } from "./gen/search/v1/search_pb.js";
import { createHealthService } from "./health/health-service.js";
import { reflectionServices, ServerReflectionV1, ServerReflectionV1alpha } from "./reflection/reflection-service.js";
import { UserService } from "./gen/user/v1/user_pb.js";
import { createSearchService } from "./search/search-service.js";
import type { ServiceContext } from "./service-context.js";
import { createUserService } from "./user/user-service.js";

/** The services this process can serve, by the name `--only` takes. */
export type ServiceName = "user" | "search";

/** Each service's descriptor and how to register its implementation. */
export const services: Readonly<
  Record<ServiceName, { desc: DescService; register(router: ConnectRouter, ctx: ServiceContext): void }>
> = {
  user: { desc: UserService, register: (router, ctx) => router.service(UserService, createUserService(ctx)) },
  search: { desc: SearchService, register: (router, ctx) => router.service(SearchService, createSearchService(ctx)) },
};

/**
 * Infrastructure every port serves, public by explicit policy: their .proto files come from npm
 * packages and cannot carry our option.
 */
export const publicInfrastructure: ReadonlySet<string> = new Set([
  Health.typeName,
  ServerReflectionV1.typeName,
  ServerReflectionV1alpha.typeName,
]);

/** Every service a port serves: its own, health, and reflection (v1 and v1alpha). */
export function portServices(name: ServiceName): DescService[] {
  return [services[name].desc, Health, ServerReflectionV1, ServerReflectionV1alpha];
}

/**
 * The routes and interceptors for one service: the same pair serves a real port
 * (`connectNodeAdapter`) and an in-memory transport (`createRouterTransport`). Resolving the
 * auth policy of every method happens here and throws if one cannot be resolved.
 */
export function createServiceRoutes(
  ctx: ServiceContext,
  name: ServiceName,
): { routes: (router: ConnectRouter) => void; interceptors: Interceptor[] } {
  const { desc, register } = services[name];
  const served = portServices(name);
  const policies = resolvePolicies(served, publicInfrastructure);
  const reflection = reflectionServices(served);
  return {
    routes: (router) => {
      register(router, ctx);
      router.service(Health, createHealthService(ctx.health, [desc.typeName]));
      router.service(ServerReflectionV1, reflection.v1);
      router.service(ServerReflectionV1alpha, reflection.v1alpha);
    },
    interceptors: [
      createAccessLogInterceptor(ctx.logger, ctx.metrics),
      createErrorInterceptor(ctx.logger),
      createAuthInterceptor({
        policies,
        verify: ctx.tokens.verify,
        isRevoked: revocationCheck(ctx),
        realm,
        onReject({ reason, method, tokenTag }) {
          ctx.metrics.authFailure(reason);
          ctx.logger.warn({ reason, method: methodName(method), tokenTag }, "access token rejected");
        },
        onDenied({ method, claims, missingRoles }) {
          ctx.logger.warn({ method: methodName(method), userId: Number(claims.userId), missingRoles }, "permission denied");
        },
      }),
    ],
  };
}

/**
 * The revocation check, against this process's mirror (no round trip per call). Until the
 * mirror has been loaded nothing is known: `unavailable`, unless `Auth.RevocationFailOpen`.
 */
function revocationCheck(ctx: Pick<ServiceContext, "revocations" | "config">): (token: AccessToken) => boolean {
  const { revocations } = ctx;
  const failOpen = ctx.config.auth.revocationFailOpen;
  return (token) => {
    if (!revocations.synced && !failOpen) throw new AppError("unavailable", "revocations not loaded yet");
    return revocations.isRevoked(token);
  };
}
