import { AppError } from "../errors.js";
import type { PasswordHasher } from "../auth/password.js";
import { canonicalUsername, checkNewPassword, checkNewUsername } from "./credentials.js";
import type { UserStore } from "./user-store.js";
import { deletedUserRevocation } from "../auth/revocations.js";
import type { LoginLimiter } from "../auth/login-limiter.js";
import { epochSeconds, type Clock } from "../clock.js";
import type { AuthEvents } from "../events/auth-events.js";
import type { SessionStore } from "./session-store.js";
import { endAllSessions, type RevocationSink } from "./sessions.js";

/** What an account change needs to reach every instance: its sessions and the revocations. */
export interface AccountChangeDeps {
  users: UserStore;
  sessionStore: Pick<SessionStore, "revokeUser">;
  events: Pick<RevocationSink, "publish">;
  clock: Clock;
  accessExpire: number;
}

/** What registering a user needs: the store and the hasher. */
export interface AddUserDeps {
  users: UserStore;
  passwords: PasswordHasher;
}

/** What clearing login limits needs: this instance's limiter, and the events that reach the others. */
export interface UnlockUserDeps {
  limiter: Pick<LoginLimiter, "unlock">;
  events: Pick<AuthEvents, "publish">;
  clock: Clock;
  windowSeconds: number;
}

/** Registers a user with a hashed password; returns the new id. */
export async function addUser(
  deps: AddUserDeps,
  input: { username: string; password: string; name?: string; gender?: string; roles?: readonly string[] },
): Promise<number> {
  const username = canonicalUsername(input.username);
  checkNewUsername(username);
  const roles = input.roles ?? [];
  if (roles.some((r) => !/^[A-Za-z0-9_.:-]{1,64}$/.test(r))) {
    throw new AppError("invalid_argument", "roles: each must be 1-64 letters, digits or _ . : -");
  }
  const passwordHash = await hashNewPassword(deps.passwords, input.password);
  return deps.users.insert({
    username,
    passwordHash,
    name: input.name ?? username,
    gender: input.gender ?? "",
    roles,
  });
}

/**
 * Sets a new password for an existing user and ends everything issued to them: their sessions
 * and every access token, on every instance. Returns the id (`not_found` when there is no such
 * user) and how many sessions ended.
 */
export async function changePassword(
  deps: AccountChangeDeps & { passwords: PasswordHasher },
  input: { username: string; password: string },
): Promise<{ id: number; endedSessions: number }> {
  const username = canonicalUsername(input.username);
  const id = await deps.users.updatePassword(username, await hashNewPassword(deps.passwords, input.password));
  const endedSessions = await endAllSessions({ store: deps.sessionStore, revocations: deps.events, clock: deps.clock, accessExpire: deps.accessExpire }, id);
  return { id, endedSessions };
}

/** Deletes a user; every token they hold is refused from then on, on every instance. Returns the id. */
export async function deleteUser(deps: AccountChangeDeps, username: string): Promise<number> {
  username = canonicalUsername(username);
  const id = await deps.users.delete(username);
  const now = epochSeconds(deps.clock);
  await deps.sessionStore.revokeUser(id, now);
  await deps.events.publish(deletedUserRevocation(id, now, deps.accessExpire));
  return id;
}

/** Clears a username's login limits on every instance (after a lock-out of its owner). */
export async function unlockUser(deps: UnlockUserDeps, username: string): Promise<void> {
  username = canonicalUsername(username);
  await deps.limiter.unlock(username);
  await deps.events.publish({ kind: "unlock", subject: username, notBefore: 0, expiresAt: epochSeconds(deps.clock) + deps.windowSeconds });
}

/** Every user, by id, as `bookstore user list` prints them: `id  username  name  gender  roles`. */
export async function listUsers(deps: { users: Pick<UserStore, "list"> }): Promise<string[]> {
  return (await deps.users.list()).map((u) => [u.id, u.username, u.name, u.gender || "-", u.roles.join(",") || "-"].join("\t"));
}

async function hashNewPassword(passwords: PasswordHasher, password: string): Promise<string> {
  checkNewPassword(password);
  return passwords.hash(password);
}
