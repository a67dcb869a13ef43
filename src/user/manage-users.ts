import { AppError } from "../errors.js";
import type { PasswordHasher } from "../auth/password.js";
import { checkPassword, checkUsername, minNewPasswordLength } from "./credentials.js";
import type { UserStore } from "./user-store.js";

/** Registers a user with a hashed password; returns the new id. */
export async function addUser(
  deps: { users: UserStore; passwords: PasswordHasher },
  input: { username: string; password: string; name?: string; gender?: string; roles?: readonly string[] },
): Promise<number> {
  checkUsername(input.username);
  const roles = input.roles ?? [];
  if (roles.some((r) => !/^[A-Za-z0-9_.:-]{1,64}$/.test(r))) {
    throw new AppError("invalid_argument", "roles: each must be 1-64 letters, digits or _ . : -");
  }
  const passwordHash = await hashNewPassword(deps.passwords, input.password);
  return deps.users.insert({
    username: input.username,
    passwordHash,
    name: input.name ?? input.username,
    gender: input.gender ?? "",
    roles,
  });
}

/** Sets a new password for an existing user; returns the id (`not_found` when there is none). */
export async function changePassword(
  deps: { users: UserStore; passwords: PasswordHasher },
  input: { username: string; password: string },
): Promise<number> {
  checkUsername(input.username);
  return deps.users.updatePassword(input.username, await hashNewPassword(deps.passwords, input.password));
}

async function hashNewPassword(passwords: PasswordHasher, password: string): Promise<string> {
  checkPassword(password);
  if (password.length < minNewPasswordLength) {
    throw new AppError("invalid_argument", `password: must be at least ${minNewPasswordLength} characters`);
  }
  return passwords.hash(password);
}
