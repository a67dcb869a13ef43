import { createContextKey, type HandlerContext } from "@connectrpc/connect";
import { AppError } from "../errors.js";
import type { AccessClaims } from "./tokens.js";

/** Where the auth interceptor puts the verified claims of the call's access token. */
export const claimsKey = createContextKey<AccessClaims | undefined>(undefined, {
  description: "verified access token claims",
});

/** The verified claims of the call, or undefined on a public method called without a token. */
export function getClaims(ctx: HandlerContext): AccessClaims | undefined {
  return ctx.values.get(claimsKey);
}

/**
 * The caller's user id (go-zero's `ctx.Value("userId")`, typed). Throws `unauthenticated`
 * when the call carries no verified token, so a handler cannot run as nobody by mistake.
 *
 * @example
 * async do(req, ctx) {
 *   const userId = requireUserId(ctx);
 * }
 */
export function requireUserId(ctx: HandlerContext): number {
  const claims = ctx.values.get(claimsKey);
  if (claims === undefined) throw new AppError("token_invalid");
  return claims.userId;
}
