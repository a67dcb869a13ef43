// protogate/client: for callers of a protogate-guarded service, in Node and in browsers (it
// imports nothing of Node). Public API only.

export { authFailureOf, defaultErrorDomain, type AuthFailure } from "../failure.js";
export { createTokenInterceptor, type TokenInterceptorOptions, type TokenStore } from "./token-interceptor.js";
