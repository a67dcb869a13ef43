import { AppError } from "../errors.js";

/** Longest accepted username, in characters (the column holds 64). */
export const maxUsernameLength = 64;
/** Longest accepted password, in characters; bounds the hashing work a request can ask for. */
export const maxPasswordLength = 1024;
/** Shortest password `bookstore user add` accepts. */
export const minNewPasswordLength = 8;

/** Checks a username's shape; throws `invalid_argument` naming the field. */
export function checkUsername(username: string): void {
  if (username.length === 0) throw new AppError("invalid_argument", "username: must not be empty");
  if (username.length > maxUsernameLength) {
    throw new AppError("invalid_argument", `username: must be at most ${maxUsernameLength} characters`);
  }
  if (/[\u0000-\u001f\u007f]/.test(username)) throw new AppError("invalid_argument", "username: must not contain control characters");
}

/** Checks a password's size; throws `invalid_argument` naming the field. */
export function checkPassword(password: string): void {
  if (password.length === 0) throw new AppError("invalid_argument", "password: must not be empty");
  if (password.length > maxPasswordLength) {
    throw new AppError("invalid_argument", `password: must be at most ${maxPasswordLength} characters`);
  }
}
