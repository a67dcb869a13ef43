import { AppError } from "../errors.js";
import type { PasswordHasher } from "../auth/password.js";
import type { TokenService } from "../auth/tokens.js";
import { checkPassword, checkUsername } from "./credentials.js";
import type { UserStore } from "./user-store.js";

/** What a successful login returns. */
export interface LoginResult {
  readonly id: number;
  readonly name: string;
  readonly gender: string;
  readonly accessToken: string;
  /** The token's `exp`. */
  readonly accessExpire: number;
  /** `iat + AccessExpire / 2`: when the client should log in again. */
  readonly refreshAfter: number;
}

/**
 * Checks a username and password and issues an access token. An unknown user and a wrong
 * password both fail with `bad_credentials`, after the same hashing work.
 */
export async function login(
  deps: { users: UserStore; passwords: PasswordHasher; tokens: Pick<TokenService, "issue">; accessExpire: number },
  input: { username: string; password: string },
): Promise<LoginResult> {
  checkUsername(input.username);
  checkPassword(input.password);
  const user = await deps.users.findByUsername(input.username);
  const ok =
    user === undefined
      ? await deps.passwords.verifyDummy(input.password)
      : await deps.passwords.verify(input.password, user.passwordHash);
  if (!ok || user === undefined) throw new AppError("bad_credentials");
  const issued = await deps.tokens.issue(user.id);
  return {
    id: user.id,
    name: user.name,
    gender: user.gender,
    accessToken: issued.token,
    accessExpire: issued.exp,
    refreshAfter: issued.iat + Math.floor(deps.accessExpire / 2),
  };
}
