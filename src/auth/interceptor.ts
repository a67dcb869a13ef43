import type { DescMethod } from "@bufbuild/protobuf";
import type { Interceptor } from "@connectrpc/connect";
import { AppError, toConnectError } from "../errors.js";
import type { Logger } from "../logger.js";
import { claimsKey } from "./context.js";
import type { ResolvedPolicy } from "./policy.js";
import { TokenError, tokenTag, type TokenService } from "./tokens.js";

/**
 * Reads the access token of a call from its `authorization` header: the raw token, as in
 * go-zero's tutorial, or `Bearer <token>` with the scheme in any case. Throws
 * {@link TokenError} when the header is absent, empty, or of another form.
 */
export function tokenFromHeader(value: string | null): string {
  if (value === null || value.trim() === "") throw new TokenError("missing");
  const match = /^\s*(?:bearer\s+)?(\S+)\s*$/i.exec(value);
  if (match === null) throw new TokenError("malformed");
  return match[1]!;
}

/**
 * Creates the interceptor that enforces each method's declared policy. Methods resolved as
 * "public" pass untouched; all others (and any method missing from the table: fail closed)
 * need a valid token, whose claims are then set under {@link claimsKey}. Every refusal is
 * `unauthenticated` with one constant message; the log gets the reason and a short tag of
 * the token, never the token or its claims.
 */
export function createAuthInterceptor(options: {
  policies: ReadonlyMap<DescMethod, ResolvedPolicy>;
  tokens: Pick<TokenService, "verify">;
  logger: Logger;
  /** Told the reason of each refusal (for metrics). */
  onReject?: (reason: TokenError["reason"]) => void;
}): Interceptor {
  const { policies, tokens, logger, onReject } = options;
  return (next) => async (req) => {
    if (policies.get(req.method) === "public") return next(req);
    const header = req.header.get("authorization");
    let token: string | undefined;
    try {
      token = tokenFromHeader(header);
      req.contextValues.set(claimsKey, await tokens.verify(token));
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
