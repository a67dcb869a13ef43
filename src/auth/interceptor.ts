import type { DescMethod } from "@bufbuild/protobuf";
import type { Interceptor } from "@connectrpc/connect";
import { AppError, toConnectError } from "../errors.js";
import type { Logger } from "../logger.js";
import { claimsKey } from "./context.js";
import type { MethodAuth } from "./policy.js";
import type { RevocableClaims } from "./revocations.js";

/** A method missing from the table is treated as needing a token. */
const failClosed: MethodAuth = { policy: "required", roles: [] };
import { TokenError, tokenTag, type TokenService } from "./tokens.js";

const jwsChars = /^[A-Za-z0-9._-]+$/;

/**
 * Reads the access token of a call from its `authorization` header: the raw token, as in
 * go-zero's tutorial, or `Bearer <token>` with the scheme in any case. Throws
 * {@link TokenError} when the header is absent, empty, or of another form.
 */
export function tokenFromHeader(value: string | null): string {
  // the common form, `Bearer <compact JWS>`, without the regular expression below
  if (value !== null && value.startsWith("Bearer ")) {
    const token = value.slice(7);
    if (jwsChars.test(token)) return token;
  }
  if (value === null || value.trim() === "") throw new TokenError("missing");
  const match = /^\s*(?:bearer\s+)?(\S+)\s*$/i.exec(value);
  if (match === null) throw new TokenError("malformed");
  return match[1]!;
}

/**
 * Creates the interceptor that enforces each method's declared policy. "public" methods pass
 * untouched; "optional" ones run anonymously without an `authorization` header; all others
 * (and any method missing from the table: fail closed) need a valid token. A verified token's
 * claims are set under {@link claimsKey}; a token lacking a required role is
 * `permission_denied`. Every token refusal is `unauthenticated` with one constant message; the
 * log gets the reason and a short tag of the token, never the token or its claims.
 */
export function createAuthInterceptor(options: {
  policies: ReadonlyMap<DescMethod, MethodAuth>;
  tokens: Pick<TokenService, "verify">;
  logger: Logger;
  /** Told the reason of each refusal (for metrics). */
  onReject?: (reason: TokenError["reason"]) => void;
  /** Told of each call refused for missing roles. */
  onDenied?: () => void;
  /**
   * Revoked tokens, held in this process (no round trip per call); checked after every
   * successful verification. Until `synced`, nothing is known about revocations.
   */
  revocations?: { isRevoked(claims: RevocableClaims): boolean; readonly synced: boolean };
  /** While the revocations have never been loaded: false (default) answers `unavailable`. */
  revocationFailOpen?: boolean;
}): Interceptor {
  const { policies, tokens, logger, onReject, onDenied, revocations, revocationFailOpen } = options;
  const isRevoked = (claims: RevocableClaims): boolean => {
    if (revocations === undefined) return false;
    if (!revocations.synced && !revocationFailOpen) throw new AppError("unavailable", "revocations not loaded yet");
    return revocations.isRevoked(claims);
  };
  return (next) => async (req) => {
    const auth = policies.get(req.method) ?? failClosed;
    if (auth.policy === "public") return next(req);
    const header = req.header.get("authorization");
    if (auth.policy === "optional" && (header === null || header.trim() === "")) return next(req);
    let token: string | undefined;
    try {
      token = tokenFromHeader(header);
      const claims = await tokens.verify(token);
      if (isRevoked(claims)) throw new TokenError("revoked");
      req.contextValues.set(claimsKey, claims);
      const missing = auth.roles.filter((r) => !claims.roles.includes(r));
      if (missing.length > 0) {
        onDenied?.();
        logger.warn({ method: `${req.service.typeName}/${req.method.name}`, userId: claims.userId, missingRoles: missing }, "permission denied");
        throw toConnectError(new AppError("permission_denied"));
      }
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
      onReject?.(err.reason);
      const tagged = token ?? header;
      logger.warn(
        { reason: err.reason, method: `${req.service.typeName}/${req.method.name}`, tokenTag: tagged ? tokenTag(tagged) : undefined },
        "access token rejected",
      );
      const refusal = toConnectError(new AppError("token_invalid"));
      refusal.metadata.set("www-authenticate", 'Bearer realm="bookstore"');
      throw refusal;
    }
    return next(req);
  };
}
