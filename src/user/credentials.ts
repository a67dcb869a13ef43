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

/**
 * The one spelling of a username that limits, caches and the database all compare: Unicode
 * NFC, so a name typed in composed or decomposed form is the same account.
 */
export function canonicalUsername(username: string): string {
  return username.normalize("NFC");
}

/** Checks a new username (`user add`): {@link checkUsername}, and no white space at either end. */
export function checkNewUsername(username: string): void {
  checkUsername(username);
  if (/^\s|\s$/u.test(username)) throw new AppError("invalid_argument", "username: must not begin or end with white space");
}

/** Checks a password's size; throws `invalid_argument` naming the field. */
export function checkPassword(password: string): void {
  if (password.length === 0) throw new AppError("invalid_argument", "password: must not be empty");
  if (password.length > maxPasswordLength) {
    throw new AppError("invalid_argument", `password: must be at most ${maxPasswordLength} characters`);
  }
}
