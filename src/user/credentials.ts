import { AppError } from "../errors.js";

/** Shortest password `bookstore user add` and `passwd` accept. */
export const minNewPasswordLength = 8;

/**
 * The one spelling of a username that limits, caches and the database all compare: Unicode
 * NFC, so a name typed in composed or decomposed form is the same account.
 */
export function canonicalUsername(username: string): string {
  return username.normalize("NFC");
}

/**
 * What a new account's username must also be, beyond the rules of `LoginRequest` (user.proto):
 * no white space at either end.
 */
export function checkNewUsername(username: string): void {
  if (/^\s|\s$/u.test(username)) throw new AppError("invalid_argument", "username: must not begin or end with white space");
}

/** What a new password must also be, beyond the rules of `LoginRequest`: at least {@link minNewPasswordLength} characters. */
export function checkNewPassword(password: string): void {
  if ([...password].length < minNewPasswordLength) {
    throw new AppError("invalid_argument", `password: must be at least ${minNewPasswordLength} characters`);
  }
}
