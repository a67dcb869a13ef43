import { ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "./gen/google/rpc/error_details_pb.js";

/**
 * Why a call was refused, as its caller is told: the `reason` of the refusal's
 * `google.rpc.ErrorInfo` detail. Only an expired, a revoked and a missing token say more than
 * `TOKEN_INVALID`: a forged, malformed, wrong-key or wrong-audience token reads the same, so the
 * answer is no oracle (the precise reason goes to `onReject`, for logs).
 */
export type AuthFailure = "TOKEN_MISSING" | "TOKEN_EXPIRED" | "TOKEN_REVOKED" | "TOKEN_INVALID" | "ROLE_MISSING";

/** The `domain` of the `ErrorInfo` detail unless the interceptor is given another. */
export const defaultErrorDomain = "protogate";

const failures: ReadonlySet<string> = new Set<AuthFailure>(["TOKEN_MISSING", "TOKEN_EXPIRED", "TOKEN_REVOKED", "TOKEN_INVALID", "ROLE_MISSING"]);

/**
 * The {@link AuthFailure} a refused call carries, read from its `ErrorInfo` detail (of `domain`),
 * or undefined when the error is not such a refusal. Works on any transport (Connect, gRPC,
 * gRPC-Web) and in browsers.
 *
 * @example
 * if (authFailureOf(err) === "TOKEN_EXPIRED") await refresh();
 */
export function authFailureOf(err: unknown, domain = defaultErrorDomain): AuthFailure | undefined {
  if (!(err instanceof ConnectError)) return undefined;
  for (const info of err.findDetails(ErrorInfoSchema)) {
    if (info.domain === domain && failures.has(info.reason)) return info.reason as AuthFailure;
  }
  return undefined;
}
