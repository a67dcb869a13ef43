import type { ServiceImpl } from "@connectrpc/connect";
import type { UserService } from "../gen/user/v1/user_pb.js";
import type { ServiceContext } from "../service-context.js";
import { getClaims } from "../auth/context.js";
import { AppError } from "../errors.js";
import { clientAddressKey } from "../http/client-address.js";
import { login } from "./login.js";

/** UserService over the logic: protobuf in, protobuf out, nothing else. */
export function createUserService(
  ctx: Pick<ServiceContext, "users" | "passwords" | "tokens" | "config" | "limiter" | "revocations">,
): ServiceImpl<typeof UserService> {
  const deps = { ...ctx, accessExpire: ctx.config.auth.accessExpire };
  return {
    async login(req, hctx) {
      const address = hctx.values.get(clientAddressKey);
      const r = await login(deps, { username: req.username, password: req.password, address });
      return {
        id: BigInt(r.id),
        name: r.name,
        gender: r.gender,
        accessToken: r.accessToken,
        accessExpire: BigInt(r.accessExpire),
        refreshAfter: BigInt(r.refreshAfter),
      };
    },
    async logout(_req, hctx) {
      const claims = getClaims(hctx);
      if (claims === undefined) throw new AppError("token_invalid");
      if (claims.jti === undefined) throw new AppError("invalid_argument", "this token has no jti, so it cannot be revoked");
      await ctx.revocations.revoke(claims.jti, claims.exp);
      return {};
    },
  };
}
