import type { DescMethod, Message } from "@bufbuild/protobuf";
import type { Interceptor, StreamRequest, UnaryRequest } from "@connectrpc/connect";
import { refusalKey, verifiedTokenKey, type VerifiedToken } from "./context.js";
import { AuthError, checkRealm, toConnectError, type AuthMessages, type RefusalOptions, type TokenRejection } from "./errors.js";
import { declaredRoles, type MethodAuth, type PolicyTable } from "./policy.js";
import { tokenFromHeader } from "./token-header.js";
import { tokenTag } from "./token-tag.js";

/** Options of {@link createAuthInterceptor}. */
export interface AuthInterceptorOptions<M extends Message = Message> {
  /** Every served method's policy, from {@link resolvePolicies} at start-up. A method missing here needs a token. */
  policies: PolicyTable;
  /**
   * Verifies a token and returns its claims, or throws {@link AuthError} (`unavailable` when
   * the keys cannot be read now). `createJwtCodec(...).verify` from `protogate/jwt` fits.
   */
  verify(token: string): Promise<VerifiedToken<M>> | VerifiedToken<M>;
  /**
   * A token `verify` has verified before, answered without any check, or undefined (then the
   * header is read and `verify` called as usual). Tried first on a `Bearer <token>` header, whose
   * form then needs no reading: `withVerifiedTokenCache(...).peek` fits. Default: none.
   */
  peek?(token: string): VerifiedToken<M> | undefined;
  /**
   * Whether a verified token has been revoked (logout, password change). Checked after every
   * successful verification; a thrown error passes through (e.g. your own `unavailable`).
   * Default: nothing is revoked.
   */
  isRevoked?(token: VerifiedToken<M>): boolean | Promise<boolean>;
  /**
   * The roles a token carries, checked against `required_roles`. Default: the claims' `roles`
   * field when it is a list of strings, else none (so a method requiring a role refuses).
   */
  roles?(claims: M): readonly string[];
  /**
   * The `realm` of `WWW-Authenticate: Bearer` on refusals (printable ASCII; quotes and
   * backslashes are escaped). Default: none.
   */
  realm?: string;
  /** The `domain` of the `google.rpc.ErrorInfo` detail each refusal carries. Default: `"protogate"`. */
  errorDomain?: string;
  /** What callers are told instead of the {@link defaultMessages}. */
  messages?: Partial<AuthMessages>;
  /** Told of each refused token: the reason and a short, non-reversible tag of the token (never the token). */
  onReject?(event: { reason: TokenRejection; method: DescMethod; tokenTag: string | undefined }): void;
  /** Told of each verified call refused for missing roles. */
  onDenied?(event: { method: DescMethod; claims: M; missingRoles: readonly string[] }): void;
}

/**
 * A method missing from the table (a wiring mistake) needs a token and the roles its
 * descriptor declares, whatever policy it declares: resolved once per method.
 */
const failClosed = new WeakMap<DescMethod, MethodAuth>();
const failClosedFor = (method: DescMethod): MethodAuth => {
  let auth = failClosed.get(method);
  // Stryker disable next-line ConditionalExpression: a memo; resolving it again gives the same answer
  if (auth === undefined) {
    // Stryker disable next-line StringLiteral: only "public" and "optional" are ever compared, so any other policy requires a token
    auth = Object.freeze({ policy: "required", roles: Object.freeze([...declaredRoles(method)]) });
    failClosed.set(method, auth);
  }
  return auth;
};

type UnaryOrStreamRequest = UnaryRequest | StreamRequest;

/** Whether a value is a promise (any thenable) rather than the answer itself. */
const pending = <T>(v: T | PromiseLike<T>): v is PromiseLike<T> => typeof (v as { then?: unknown } | null)?.then === "function";

const defaultRoles = (claims: Message): readonly string[] => {
  const roles = (claims as { roles?: unknown }).roles;
  return Array.isArray(roles) && roles.every((r) => typeof r === "string") ? roles : [];
};

/**
 * Creates the interceptor that enforces each method's declared policy. "public" methods pass
 * untouched; "optional" ones run anonymously without an `authorization` header; all others
 * (and any method missing from the table: fail closed) need a valid token. The verified token
 * is set under {@link verifiedTokenKey} (read it with `getClaims`/`requireClaims`); a token
 * lacking a required role is `permission_denied`. Every token refusal is `unauthenticated`
 * with one constant message.
 *
 * @example
 * const codec = await createJwtCodec({ keys, claims: AccessClaimsSchema, lifetime: 900 });
 * const interceptor = createAuthInterceptor({ policies: resolvePolicies([GreeterService]), verify: codec.verify });
 * http2.createServer(connectNodeAdapter({ routes, interceptors: [interceptor] }));
 */
export function createAuthInterceptor<M extends Message = Message>(options: AuthInterceptorOptions<M>): Interceptor {
  const { policies, verify, peek, isRevoked, onReject, onDenied } = options;
  const roles = options.roles ?? defaultRoles;
  checkRealm(options.realm);
  const refusal: RefusalOptions = Object.freeze({ messages: options.messages, realm: options.realm, domain: options.errorDomain });
  // a refused token's error, told to onReject; anything that is not an AuthError passes through as it is
  const refused = (err: unknown, token: string | undefined, header: string | null, method: DescMethod): unknown => {
    if (!(err instanceof AuthError)) return err;
    // not the token's fault, so not a rejection; "role_missing" never comes here (it is thrown
    // as a ConnectError) and is named only so that the type of onReject's reason excludes it
    // Stryker disable next-line ConditionalExpression,StringLiteral: see above
    if (err.reason === "unavailable" || err.reason === "role_missing") return toConnectError(err, refusal);
    const tagged = token ?? header;
    onReject?.({ reason: err.reason, method, tokenTag: tagged ? tokenTag(tagged) : undefined });
    return toConnectError(err, refusal);
  };
  // the verified token set for the handler, once it is known not revoked and to hold the roles
  const admit = (req: UnaryOrStreamRequest, auth: MethodAuth, verified: VerifiedToken<M>, revoked: boolean): void => {
    if (revoked) throw new AuthError("revoked");
    req.contextValues.set(verifiedTokenKey, verified);
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a shortcut; with no roles required, none is missing
    if (auth.roles.length > 0) {
      const held = roles(verified.claims);
      const missing = auth.roles.filter((r) => !held.includes(r));
      if (missing.length > 0) {
        onDenied?.({ method: req.method, claims: verified.claims, missingRoles: missing });
        throw toConnectError(new AuthError("role_missing"), { ...refusal, scope: auth.roles });
      }
    }
  };
  const check = (req: UnaryOrStreamRequest, auth: MethodAuth, verified: VerifiedToken<M>): void | Promise<void> => {
    const revoked = isRevoked === undefined ? false : isRevoked(verified);
    return pending(revoked) ? Promise.resolve(revoked).then((r) => admit(req, auth, verified, r)) : admit(req, auth, verified, revoked);
  };
  // Not an async function: a token the verifier answers at once (a cached one) and a revocation
  // check that answers at once cost the call no promise; a promise from either is waited for.
  return (next) => (req) => {
    const auth = policies.get(req.method) ?? failClosedFor(req.method);
    if (auth.policy === "public") {
      req.contextValues.set(refusalKey, refusal);
      return next(req);
    }
    const header = req.header.get("authorization");
    if (auth.policy === "optional" && (header === null || header.trim() === "")) {
      req.contextValues.set(refusalKey, refusal); // requireClaims refuses as this interceptor does
      return next(req);
    }
    let token: string | undefined;
    let checked: void | Promise<void>;
    try {
      // the common case, a token sent again: a verified token is a compact JWS, which is what
      // tokenFromHeader would have read from this header, so its form needs no second look
      const sent = peek !== undefined && header !== null && header.startsWith("Bearer ") ? header.slice(7) : undefined;
      const known = sent === undefined ? undefined : peek!(sent);
      if (known !== undefined) {
        token = sent;
        checked = check(req, auth, known);
      } else {
        token = tokenFromHeader(header);
        const verified = verify(token);
        checked = pending(verified) ? Promise.resolve(verified).then((v) => check(req, auth, v)) : check(req, auth, verified);
      }
    } catch (err) {
      return Promise.reject(refused(err, token, header, req.method));
    }
    if (checked === undefined) return next(req);
    return checked.then(
      () => next(req),
      (err: unknown) => Promise.reject(refused(err, token, header, req.method)),
    );
  };
}

/** The method as logs name it: `pkg.Service/Method`. */
export const methodName = (method: DescMethod): string => `${method.parent.typeName}/${method.name}`;
