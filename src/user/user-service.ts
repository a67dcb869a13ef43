import type { ServiceImpl } from "@connectrpc/connect";
import type { UserService } from "../gen/user/v1/user_pb.js";
import { callerToken } from "../auth/caller.js";
import type { LoginLimiter } from "../auth/login-limiter.js";
import type { PasswordHasher } from "../auth/password.js";
import { AppError } from "../errors.js";
import { clientAddressKey } from "../http/client-address.js";
import type { Logger } from "../logger.js";
import { login } from "./login.js";
import type { Sessions, TokenPair } from "./sessions.js";
import type { UserStore } from "./user-store.js";

/** What UserService needs: what {@link login} does, and the sessions Refresh rotates and Logout ends. */
export interface UserServiceDeps {
  users: UserStore;
  passwords: PasswordHasher;
  limiter: LoginLimiter;
  sessions: Pick<Sessions, "start" | "refresh" | "end">;
  logger: Logger;
}

/** UserService over the logic: protobuf in, protobuf out, nothing else. */
export function createUserService(deps: UserServiceDeps): ServiceImpl<typeof UserService> {
  return {
    async login(req, ctx) {
      const address = ctx.values.get(clientAddressKey);
      const r = await login(deps, { username: req.username, password: req.password, address });
      return { id: BigInt(r.id), name: r.name, gender: r.gender, ...wirePair(r) };
    },
    async refresh(req) {
      if (req.refreshToken.trim() === "") throw new AppError("invalid_argument", "refresh_token is required");
      return wirePair(await deps.sessions.refresh(req.refreshToken));
    },
    async logout(_req, ctx) {
      const token = callerToken(ctx);
      if (token === undefined) throw new AppError("token_invalid");
      if (token.jti === undefined) throw new AppError("invalid_argument", "this token has no jti, so it cannot be revoked");
      await deps.sessions.end(token);
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
