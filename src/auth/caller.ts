import { getClaims, getVerifiedToken, requireClaims, type ValuesSource } from "protogate";
import { AccessClaimsSchema } from "../gen/user/v1/claims_pb.js";
import type { AccessToken } from "./tokens.js";

/** The realm of `WWW-Authenticate: Bearer realm="bookstore"` on every refusal. */
export const realm = "bookstore";

/**
 * The caller's user id (go-zero's `ctx.Value("userId")`, typed). Throws `unauthenticated`
 * when the call carries no verified token, so a handler cannot run as nobody by mistake.
 *
 * @example
 * async do(req, ctx) {
 *   const userId = requireUserId(ctx);
 * }
 */
export function requireUserId(source: ValuesSource): number {
  return Number(requireClaims(source, AccessClaimsSchema, refusal).userId);
}

const refusal = Object.freeze({ realm });

/** The caller's user id when the call carries a verified token (for logs). */
export function callerUserId(source: ValuesSource): number | undefined {
  const claims = getClaims(source, AccessClaimsSchema);
  return claims === undefined ? undefined : Number(claims.userId);
}

/** The call's verified access token, or undefined on an anonymous call. */
export function callerToken(source: ValuesSource): AccessToken | undefined {
  const token = getVerifiedToken(source);
  if (token === undefined) return undefined;
  getClaims(source, AccessClaimsSchema); // throws unless the claims are ours
  return token as AccessToken;
}
