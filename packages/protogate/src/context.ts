import { isMessage, type DescMessage, type Message, type MessageShape } from "@bufbuild/protobuf";
import { createContextKey, type ContextValues } from "@connectrpc/connect";
import { AuthError, toConnectError, type RefusalOptions } from "./errors.js";

/** A token that verified: its application claims as a protobuf message, and its registered claims. */
export interface VerifiedToken<M extends Message = Message> {
  /** The application's claims, decoded strictly into the message the application declared. */
  readonly claims: M;
  /** Expires at, seconds since the Unix epoch. */
  readonly exp: number;
  /** Issued at, when the token says. */
  readonly iat: number | undefined;
  /** The token's unique id, when it has one. */
  readonly jti: string | undefined;
}

/** Where the auth interceptor puts the call's verified token (unset on an anonymous call). */
export const verifiedTokenKey = createContextKey<VerifiedToken | undefined>(undefined, {
  description: "protogate: verified access token",
});

/**
 * How the interceptor that let an anonymous call through refuses (its messages and realm), so
 * that {@link requireClaims} refuses the same way. For other libraries; applications need not.
 */
export const refusalKey = createContextKey<RefusalOptions | undefined>(undefined, {
  description: "protogate: how the auth interceptor refuses",
});

/** A handler context (`ctx`) or an interceptor request's `contextValues`. */
export type ValuesSource = { readonly values: ContextValues } | ContextValues;

const valuesOf = (source: ValuesSource): ContextValues => ("values" in source ? source.values : source);

/** The call's verified token, or undefined when the call is anonymous. */
export function getVerifiedToken(source: ValuesSource): VerifiedToken | undefined {
  return valuesOf(source).get(verifiedTokenKey);
}

/**
 * The call's claims as the message type `schema` describes, or undefined when the call carries
 * no token (a public or optional method called anonymously). Throws a `TypeError` when the
 * token's claims are of another message type (a wiring mistake, not a caller's).
 *
 * @example
 * const claims = getClaims(ctx, AccessClaimsSchema); // AccessClaims | undefined
 */
export function getClaims<Desc extends DescMessage>(source: ValuesSource, schema: Desc): MessageShape<Desc> | undefined {
  const token = getVerifiedToken(source);
  if (token === undefined) return undefined;
  if (!isMessage(token.claims, schema)) throw new TypeError(`protogate: the claims are ${token.claims.$typeName}, not ${schema.typeName}`);
  return token.claims;
}

/**
 * Like {@link getClaims}, but a call without a token fails with `unauthenticated`, so a handler
 * cannot run as nobody by mistake. The refusal reads as the auth interceptor's (its `messages`
 * and `realm`) unless `options` are given.
 *
 * @example
 * async hello(req, ctx) {
 *   const { userId } = requireClaims(ctx, AccessClaimsSchema);
 * }
 */
export function requireClaims<Desc extends DescMessage>(source: ValuesSource, schema: Desc, options?: RefusalOptions): MessageShape<Desc> {
  const claims = getClaims(source, schema);
  if (claims === undefined) throw toConnectError(new AuthError("missing"), options ?? valuesOf(source).get(refusalKey));
  return claims;
}
