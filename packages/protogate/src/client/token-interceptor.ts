import type { DescMethod } from "@bufbuild/protobuf";
import type { Interceptor } from "@connectrpc/connect";
import { authFailureOf, defaultErrorDomain } from "../failure.js";
import { resolvePolicy } from "../policy.js";

/** Where a client keeps its tokens, and how it gets a new access token. */
export interface TokenStore {
  /** The access token to send now; undefined (or empty) sends none. */
  accessToken(): string | undefined | Promise<string | undefined>;
  /**
   * Gets a fresh access token once the server has said the current one expired: typically calls
   * your service's refresh method with the refresh token, stores the new pair, and returns the
   * access token. Throw when it cannot (no refresh token, refused): the call then fails with
   * that error and is not retried.
   */
  refresh(): Promise<string>;
}

/** Options of {@link createTokenInterceptor}. */
export interface TokenInterceptorOptions {
  tokens: TokenStore;
  /** The `ErrorInfo` domain of the server's refusals (its interceptor's `errorDomain`). Default: `"protogate"`. */
  errorDomain?: string;
}

/**
 * A client interceptor (connect-node and connect-web transports alike) that sends the access
 * token as `authorization: Bearer ...` and, when a unary call is refused with `TOKEN_EXPIRED`,
 * gets a new token through {@link TokenStore.refresh} and retries the call once. Concurrent calls
 * share one refresh, across every interceptor (and so every transport) made with the same store;
 * a call that finds the token already renewed by another retries with it. A
 * call that carries its own `authorization` header, and a method whose proto declares
 * `POLICY_PUBLIC` (such as the refresh method itself), are left alone.
 *
 * @example
 * const transport = createConnectTransport({ baseUrl, interceptors: [createTokenInterceptor({ tokens })] });
 */
export function createTokenInterceptor(options: TokenInterceptorOptions): Interceptor {
  const { tokens } = options;
  const domain = options.errorDomain ?? defaultErrorDomain;
  const refreshOnce = () => {
    let refreshing = inflight.get(tokens);
    if (refreshing === undefined) {
      refreshing = tokens.refresh().finally(() => inflight.delete(tokens));
      inflight.set(tokens, refreshing);
    }
    return refreshing;
  };
  return (next) => async (req) => {
    if (req.header.has("authorization") || isPublic(req.method)) return next(req);
    const sent = await tokens.accessToken();
    if (sent === undefined || sent === "") return next(req);
    req.header.set("authorization", `Bearer ${sent}`);
    try {
      return await next(req);
    } catch (err) {
      // a streaming request cannot be sent twice
      if (req.stream || authFailureOf(err, domain) !== "TOKEN_EXPIRED") throw err;
      const current = await tokens.accessToken();
      const fresh = current !== undefined && current !== "" && current !== sent ? current : await refreshOnce();
      req.header.set("authorization", `Bearer ${fresh}`);
      return next(req);
    }
  };
}

/** The refresh under way, by store: interceptors of several transports over one store share it. */
const inflight = new WeakMap<TokenStore, Promise<string>>();

const publicMethods = new WeakMap<DescMethod, boolean>();

/** Whether the method's proto declares it public (a declaration that does not resolve is not). */
function isPublic(method: DescMethod): boolean {
  let known = publicMethods.get(method);
  if (known === undefined) {
    try {
      known = resolvePolicy(method) === "public";
    } catch {
      known = false;
    }
    publicMethods.set(method, known);
  }
  return known;
}
