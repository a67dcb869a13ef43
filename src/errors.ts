import { Code, ConnectError } from "@connectrpc/connect";

/**
 * What can go wrong in the logic, in the logic's own words. Each kind maps to exactly one
 * Connect code and one public message in {@link errorTable}; nothing else decides either.
 */
export type AppErrorKind =
  | "bad_credentials"
  | "token_invalid"
  | "refresh_invalid"
  | "invalid_argument"
  | "already_exists"
  | "not_found"
  | "rate_limited"
  | "permission_denied"
  | "unavailable";

/**
 * An expected failure raised by logic that knows nothing of RPC. The `detail` is for the
 * caller where the table says it is safe to show (argument errors); never a secret.
 */
export class AppError extends Error {
  override name = "AppError";
  readonly kind: AppErrorKind;
  readonly detail: string | undefined;
  /** For `rate_limited`: when the caller may try again (sent as `retry-after`). */
  readonly retryAfterSeconds: number | undefined;
  constructor(kind: AppErrorKind, detail?: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(detail === undefined ? kind : `${kind}: ${detail}`, options);
    this.kind = kind;
    this.detail = detail;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

/** The single mapping of domain failures to Connect codes and what the client is told. */
export const errorTable: Readonly<
  Record<AppErrorKind, { code: Code; message: string; showDetail: boolean }>
> = {
  bad_credentials: { code: Code.Unauthenticated, message: "invalid username or password", showDetail: false },
  token_invalid: { code: Code.Unauthenticated, message: "invalid or missing access token", showDetail: false },
  refresh_invalid: { code: Code.Unauthenticated, message: "invalid, used or expired refresh token: log in again", showDetail: false },
  invalid_argument: { code: Code.InvalidArgument, message: "invalid argument", showDetail: true },
  already_exists: { code: Code.AlreadyExists, message: "already exists", showDetail: true },
  not_found: { code: Code.NotFound, message: "not found", showDetail: true },
  permission_denied: { code: Code.PermissionDenied, message: "permission denied", showDetail: false },
  rate_limited: { code: Code.ResourceExhausted, message: "too many attempts", showDetail: true },
  unavailable: { code: Code.Unavailable, message: "service unavailable, try again later", showDetail: false },
};

/** A Connect code as the wire spells it: `Code.PermissionDenied` -> `permission_denied`. */
export function codeName(code: Code): string {
  return Code[code]!.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

/** Converts an {@link AppError} into the {@link ConnectError} its kind maps to. */
export function toConnectError(err: AppError): ConnectError {
  const row = errorTable[err.kind];
  const message = row.showDetail && err.detail !== undefined ? err.detail : row.message;
  const e = new ConnectError(message, row.code);
  if (err.retryAfterSeconds !== undefined) e.metadata.set("retry-after", String(err.retryAfterSeconds));
  return e;
}

const unavailableCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "EPIPE",
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT",
  "ER_CON_COUNT_ERROR",
  "SQLITE_BUSY",
  "SQLITE_LOCKED",
  "DB_DEADLINE",
]);

/**
 * Tells whether an error thrown by a driver means the backing service cannot be reached
 * now (so the call should be retried later) rather than a bug.
 */
export function isUnavailableError(err: unknown): boolean {
  const e = err as { code?: unknown; fatal?: unknown } | null;
  // mysql2 marks errors that broke the connection as fatal
  return (typeof e?.code === "string" && unavailableCodes.has(e.code)) || e?.fatal === true;
}
