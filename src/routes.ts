import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { createAuthInterceptor } from "./auth/interceptor.js";
import { resolvePolicies } from "./auth/policy.js";
import { createErrorInterceptor } from "./error-interceptor.js";
import { SearchService } from "./gen/search/v1/search_pb.js";
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
 * The routes and interceptors for one service: the same pair serves a real port
 * (`connectNodeAdapter`) and an in-memory transport (`createRouterTransport`). Resolving the
 * auth policy of every method happens here and throws if one cannot be resolved.
 */
export function createServiceRoutes(
  ctx: ServiceContext,
  name: ServiceName,
): { routes: (router: ConnectRouter) => void; interceptors: Interceptor[] } {
  const { desc, register } = services[name];
  const policies = resolvePolicies([desc]);
  return {
    routes: (router) => register(router, ctx),
    interceptors: [createErrorInterceptor(ctx.logger), createAuthInterceptor({ policies, tokens: ctx.tokens, logger: ctx.logger })],
  };
}
