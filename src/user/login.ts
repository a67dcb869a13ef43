import { AppError } from "../errors.js";
import type { PasswordHasher } from "../auth/password.js";
import type { LoginLimiter } from "../auth/login-limiter.js";
import type { Sessions, TokenPair } from "./sessions.js";
import { canonicalUsername } from "./credentials.js";
import type { UserRecord, UserStore } from "./user-store.js";
import type { Logger } from "../logger.js";

/** What a successful login returns: the profile and a fresh session's tokens. */
export interface LoginResult extends TokenPair {
  readonly id: number;
  readonly name: string;
  readonly gender: string;
}

/** What {@link login} needs; without a limiter nothing is counted, without a logger nothing is logged. */
export interface LoginDeps {
  users: UserStore;
  passwords: PasswordHasher;
  sessions: Pick<Sessions, "start">;
  limiter?: LoginLimiter;
  logger?: Logger;
}

/**
 * Checks a username and password and starts a session: an access and a refresh token. An unknown user and a wrong
 * password both fail with `bad_credentials`, after the same hashing work. The username is
 * compared in NFC. With a limiter, the attempt is counted before any hashing (refused with
 * `rate_limited` past a limit), and a success clears the username's failures; a hash made with
 * older parameters is replaced.
 */
export async function login(deps: LoginDeps, input: { username: string; password: string; address?: string }): Promise<LoginResult> {
  // the fields' shape and size are the proto's rules (user.proto), checked before the call gets here
  const username = canonicalUsername(input.username);
  // counted before any hashing: parallel guesses cannot get past the limit
  const ticket = await deps.limiter?.reserve(username, input.address);
  const user = await deps.users.findByUsername(username);
  const ok =
    user === undefined
      ? await deps.passwords.verifyDummy(input.password)
      : await deps.passwords.verify(input.password, user.passwordHash);
  if (!ok || user === undefined) throw new AppError("bad_credentials");
  await ticket?.succeeded();
  if (deps.passwords.needsRehash(user.passwordHash)) await rehash(deps, user, input.password);
  const pair = await deps.sessions.start(user);
  return { id: user.id, name: user.name, gender: user.gender, ...pair };
}

/**
 * Replaces a hash made with older parameters (or scrypt) now that the password is known. A
 * failure is logged and the login goes on: the old hash still works.
 */
async function rehash(deps: Pick<LoginDeps, "users" | "passwords" | "logger">, user: UserRecord, password: string): Promise<void> {
  try {
    if (await deps.users.rehashPassword(user.id, user.passwordHash, await deps.passwords.hash(password))) {
      deps.logger?.info({ userId: user.id }, "password hash upgraded to the current parameters");
    }
  } catch (err) {
    deps.logger?.warn({ userId: user.id, code: (err as { code?: unknown })?.code }, "could not upgrade the password hash; keeping the old one");
  }
}
