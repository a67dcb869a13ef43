import { AppError } from "../errors.js";
import type { PasswordHasher } from "../auth/password.js";
import { checkPassword, checkUsername, minNewPasswordLength } from "./credentials.js";
import type { UserStore } from "./user-store.js";

/** Registers a user with a hashed password; returns the new id. */
export async function addUser(
  deps: { users: UserStore; passwords: PasswordHasher },
  input: { username: string; password: string; name?: string; gender?: string },
): Promise<number> {
  checkUsername(input.username);
  checkPassword(input.password);
  if (input.password.length < minNewPasswordLength) {
    throw new AppError("invalid_argument", `password: must be at least ${minNewPasswordLength} characters`);
  }
  const passwordHash = await deps.passwords.hash(input.password);
  return deps.users.insert({
    username: input.username,
    passwordHash,
    name: input.name ?? input.username,
    gender: input.gender ?? "",
  });
}
