import type { ServiceImpl } from "@connectrpc/connect";
import type { UserService } from "../gen/user/v1/user_pb.js";
import type { ServiceContext } from "../service-context.js";
import { callerToken } from "../auth/caller.js";
import { AppError } from "../errors.js";
import { clientAddressKey } from "../http/client-address.js";
import { login } from "./login.js";
import type { TokenPair } from "./sessions.js";

/** UserService over the logic: protobuf in, protobuf out, nothing else. */
export function createUserService(
  ctx: Pick<ServiceContext, "users" | "passwords" | "limiter" | "sessions" | "logger">,
): ServiceImpl<typeof UserService> {
  return {
    async login(req, hctx) {
      const address = hctx.values.get(clientAddressKey);
      const r = await login(ctx, { username: req.username, password: req.password, address });
      return { id: BigInt(r.id), name: r.name, gender: r.gender, ...wirePair(r) };
    },
    async refresh(req) {
      if (req.refreshToken.trim() === "") throw new AppError("invalid_argument", "refresh_token is required");
      return wirePair(await ctx.sessions.refresh(req.refreshToken));
    },
    async logout(_req, hctx) {
      const token = callerToken(hctx);
      if (token === undefined) throw new AppError("token_invalid");
      if (token.jti === undefined) throw new AppError("invalid_argument", "this token has no jti, so it cannot be revoked");
      await ctx.sessions.end(token);
      return {};
    },
  };
}

function wirePair(p: TokenPair) {
  return {
    accessToken: p.accessToken,
    accessExpire: BigInt(p.accessExpire),
    refreshAfter: BigInt(p.refreshAfter),
    refreshToken: p.refreshToken,
    refreshExpire: BigInt(p.refreshExpire),
  };
}
