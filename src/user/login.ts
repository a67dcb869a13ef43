import { AppError } from "../errors.js";
import type { PasswordHasher } from "../auth/password.js";
import type { LoginLimiter } from "../auth/login-limiter.js";
import type { Sessions, TokenPair } from "./sessions.js";
import { checkPassword, checkUsername } from "./credentials.js";
import type { UserStore } from "./user-store.js";

/** What a successful login returns: the profile and a fresh session's tokens. */
export interface LoginResult extends TokenPair {
  readonly id: number;
  readonly name: string;
  readonly gender: string;
}

/**
 * Checks a username and password and starts a session: an access and a refresh token. An unknown user and a wrong
 * password both fail with `bad_credentials`, after the same hashing work. With a limiter, a
 * locked username or a too-busy address fails with `rate_limited` before any hashing, a failure
 * counts against the username, and a success clears its count.
 */
export async function login(
  deps: {
    users: UserStore;
    passwords: PasswordHasher;
    sessions: Pick<Sessions, "start">;
    limiter?: LoginLimiter;
  },
  input: { username: string; password: string; address?: string },
): Promise<LoginResult> {
  checkUsername(input.username);
  checkPassword(input.password);
  await deps.limiter?.attempt(input.username, input.address);
  const user = await deps.users.findByUsername(input.username);
  const ok =
    user === undefined
      ? await deps.passwords.verifyDummy(input.password)
      : await deps.passwords.verify(input.password, user.passwordHash);
  if (!ok || user === undefined) {
    await deps.limiter?.failed(input.username);
    throw new AppError("bad_credentials");
  }
  await deps.limiter?.succeeded(input.username);
  const pair = await deps.sessions.start(user);
  return { id: user.id, name: user.name, gender: user.gender, ...pair };
}
