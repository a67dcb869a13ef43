import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Why a call was refused. The token reasons (`missing` to `revoked`) are for logs and metrics
 * only: the caller is told `unauthenticated` with one constant message, so a forged token and
 * an expired one look alike from outside.
 */
export type AuthErrorReason =
  | "missing"
  | "malformed"
  | "bad_algorithm"
  | "bad_signature"
  | "expired"
  | "not_yet_valid"
  | "bad_claims"
  | "unknown_key"
  | "revoked"
  /** A verified token lacks a role the method requires (`permission_denied`). */
  | "role_missing"
  /** The keys or the revocations cannot be read now (`unavailable`: worth a retry). */
  | "unavailable";

/** The token reasons: each is an `unauthenticated` refusal. */
export type TokenRejection = Exclude<AuthErrorReason, "role_missing" | "unavailable">;

/**
 * A refusal by this package, with a reason a `switch` narrows. Its message never carries the
 * token or its claims.
 */
export class AuthError extends Error {
  override name = "AuthError";
  readonly reason: AuthErrorReason;
  constructor(reason: AuthErrorReason, options?: { cause?: unknown }) {
    super(`auth: ${reason}`, options);
    this.reason = reason;
  }
}

/** What callers are told, by Connect code; override any of them with the interceptor's `messages`. */
export interface AuthMessages {
  unauthenticated: string;
  permissionDenied: string;
  unavailable: string;
}

/** The default messages. */
export const defaultMessages: Readonly<AuthMessages> = Object.freeze({
  unauthenticated: "invalid or missing access token",
  permissionDenied: "permission denied",
  unavailable: "service unavailable, try again later",
});

/** The one mapping of reasons to Connect codes. */
export function codeOf(reason: AuthErrorReason): Code {
  if (reason === "role_missing") return Code.PermissionDenied;
  if (reason === "unavailable") return Code.Unavailable;
  return Code.Unauthenticated;
}

/** How refusals read: the messages callers are told and the `WWW-Authenticate` realm. */
export interface RefusalOptions {
  readonly messages?: Partial<AuthMessages>;
  readonly realm?: string;
}

/**
 * Throws a `TypeError` unless `realm` can be a `WWW-Authenticate` quoted-string: printable
 * ASCII, at most 256 characters (no line breaks, so no header injection).
 */
export function checkRealm(realm: string | undefined): void {
  if (realm !== undefined && !/^[\x20-\x7e]{0,256}$/.test(realm)) throw new TypeError("protogate: realm must be printable ASCII, at most 256 characters");
}

/** The realm as a quoted-string: backslashes and quotes escaped (RFC 9110 section 5.6.4). */
const quoted = (text: string) => `"${text.replace(/[\\"]/g, "\\$&")}"`;

/**
 * Converts an {@link AuthError} into the {@link ConnectError} its reason maps to, with the
 * configured message; an `unauthenticated` one carries `WWW-Authenticate: Bearer` (with the
 * realm when one is given, RFC 6750).
 */
export function toConnectError(err: AuthError, options: RefusalOptions = {}): ConnectError {
  const messages = { ...defaultMessages, ...options.messages };
  const code = codeOf(err.reason);
  const message = code === Code.Unauthenticated ? messages.unauthenticated : code === Code.PermissionDenied ? messages.permissionDenied : messages.unavailable;
  const e = new ConnectError(message, code, undefined, undefined, err);
  checkRealm(options.realm);
  if (code === Code.Unauthenticated) e.metadata.set("www-authenticate", options.realm === undefined ? "Bearer" : `Bearer realm=${quoted(options.realm)}`);
  return e;
}
