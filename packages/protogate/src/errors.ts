import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { defaultErrorDomain, type AuthFailure } from "./failure.js";
import { ErrorInfoSchema } from "./gen/google/rpc/error_details_pb.js";

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

/** What a caller is told of a reason; `unavailable` is no refusal of the caller's token: none. */
export function failureOf(reason: AuthErrorReason): AuthFailure | undefined {
  switch (reason) {
    case "missing":
      return "TOKEN_MISSING";
    case "expired":
      return "TOKEN_EXPIRED";
    case "revoked":
      return "TOKEN_REVOKED";
    case "role_missing":
      return "ROLE_MISSING";
    case "unavailable":
      return undefined;
    default:
      return "TOKEN_INVALID";
  }
}

/** How refusals read: the messages callers are told, the `WWW-Authenticate` realm, the `ErrorInfo` domain. */
export interface RefusalOptions {
  readonly messages?: Partial<AuthMessages>;
  readonly realm?: string;
  /** The `domain` of the `google.rpc.ErrorInfo` detail (default {@link defaultErrorDomain}). */
  readonly domain?: string;
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
 * `WWW-Authenticate` of a refusal (RFC 6750 section 3): a missing token gets the bare challenge,
 * a refused one `error="invalid_token"`, a role missing `error="insufficient_scope"` with the
 * roles the method requires as its `scope`.
 */
function challenge(failure: AuthFailure, realm: string | undefined, scope: readonly string[]): string {
  const params = realm === undefined ? [] : [`realm=${quoted(realm)}`];
  if (failure === "ROLE_MISSING") params.push('error="insufficient_scope"', `scope="${scope.join(" ")}"`);
  else if (failure === "TOKEN_EXPIRED") params.push('error="invalid_token"', 'error_description="the access token expired"');
  else if (failure !== "TOKEN_MISSING") params.push('error="invalid_token"');
  return params.length === 0 ? "Bearer" : `Bearer ${params.join(", ")}`;
}

/**
 * Converts an {@link AuthError} into the {@link ConnectError} its reason maps to, with the
 * configured message. A refusal of the caller's token or roles also carries a
 * `google.rpc.ErrorInfo` detail (reason: an {@link AuthFailure}; read it with `authFailureOf`)
 * and `WWW-Authenticate: Bearer` (with the realm when one is given, and the RFC 6750 `error`);
 * `scope` names the roles the method requires, for a `role_missing` refusal.
 */
export function toConnectError(err: AuthError, options: RefusalOptions & { scope?: readonly string[] } = {}): ConnectError {
  const messages = { ...defaultMessages, ...options.messages };
  const code = codeOf(err.reason);
  const message = code === Code.Unauthenticated ? messages.unauthenticated : code === Code.PermissionDenied ? messages.permissionDenied : messages.unavailable;
  checkRealm(options.realm);
  const failure = failureOf(err.reason);
  if (failure === undefined) return new ConnectError(message, code, undefined, undefined, err);
  const scope = options.scope ?? [];
  const info = create(ErrorInfoSchema, {
    reason: failure,
    domain: options.domain ?? defaultErrorDomain,
    metadata: failure === "ROLE_MISSING" ? { scope: scope.join(" ") } : {},
  });
  const e = new ConnectError(message, code, undefined, [{ desc: ErrorInfoSchema, value: info }], err);
  e.metadata.set("www-authenticate", challenge(failure, options.realm, scope));
  return e;
}
