import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { createAuthInterceptor, getClaims, requireClaims, resolvePolicies } from "protogate";
import { createJwtCodec, createKeyRing, hmacKey } from "protogate/jwt";
import { GreeterClaimsSchema, GreeterService } from "./gen/greeter/v1/greeter_pb.js";
import { listen } from "./listen.js";

/** The HS256 secret used when GREETER_SECRET is not set: for development only. */
export const devSecret = "greeter-dev-secret-change-me-in-production";

/** Issues and verifies the greeter's tokens, whose claims are a GreeterClaims message. */
export async function createGreeterTokens(secret = process.env.GREETER_SECRET ?? devSecret) {
  const keys = createKeyRing({ signing: await hmacKey(secret) });
  return createJwtCodec({ keys, claims: GreeterClaimsSchema, unknownClaims: "reject", lifetime: 3600 });
}

/** The handlers: the interceptor has already applied each method's policy; they read typed claims. */
function routes(router: ConnectRouter) {
  let greeting = "Hello";
  router.service(GreeterService, {
    hello: (req) => ({ message: `${greeting}, ${req.name || "world"}!` }),
    greet: (_req, ctx) => ({ message: `${greeting}, ${getClaims(ctx, GreeterClaimsSchema)?.name ?? "stranger"}!` }),
    setGreeting(req, ctx) {
      greeting = req.greeting || greeting;
      return { changedBy: requireClaims(ctx, GreeterClaimsSchema).name };
    },
  });
}

/** Starts the greeter on `port` (0: any free port). Resolves to its URL, its token codec and `close`. */
export async function startGreeter(options: { port?: number; secret?: string } = {}) {
  const tokens = await createGreeterTokens(options.secret);
  const policies = resolvePolicies([GreeterService]); // throws now, at start-up, on a bad declaration
  const auth = createAuthInterceptor({ policies, verify: tokens.verify, realm: "greeter" });
  const handler = connectNodeAdapter({ routes, interceptors: [auth], readMaxBytes: 64 * 1024 });
  return { tokens, ...(await listen(handler, options.port ?? 8080)) };
}

// run directly: PORT=8080 GREETER_SECRET=... npx tsx src/server.ts
if (process.argv[1] === import.meta.filename) {
  const greeter = await startGreeter({ port: Number(process.env.PORT ?? 8080) });
  console.log(`greeter listening on ${greeter.url}`);
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void greeter.close());
}
