// protogate: authentication declared in the .proto, enforced by one Connect interceptor.
// Symbols below are the public API; anything not exported here is internal.

export { Policy, default_policy, file_protogate_v1_auth, policy, required_roles } from "./gen/protogate/v1/auth_pb.js";
export { combinePolicy, PolicyError, resolvePolicies, resolvePolicy, type MethodAuth, type PolicyTable, type ResolvedPolicy } from "./policy.js";
export { createAuthInterceptor, methodName, type AuthInterceptorOptions } from "./interceptor.js";
export { getClaims, getVerifiedToken, refusalKey, requireClaims, verifiedTokenKey, type ValuesSource, type VerifiedToken } from "./context.js";
export { AuthError, codeOf, defaultMessages, toConnectError, type AuthErrorReason, type AuthMessages, type RefusalOptions, type TokenRejection } from "./errors.js";
export { authFailureOf, defaultErrorDomain, type AuthFailure } from "./failure.js";
export { tokenFromHeader } from "./token-header.js";
export { tokenTag } from "./token-tag.js";
