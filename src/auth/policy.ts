import { getOption, hasOption, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { default_policy, policy as methodPolicy, Policy } from "../gen/auth/v1/auth_pb.js";

/** What a method demands of a caller, once its declaration is resolved. */
export type ResolvedPolicy = "required" | "public";

/** A method whose policy cannot be resolved; the server refuses to start. */
export class PolicyError extends Error {
  override name = "PolicyError";
}

/**
 * Combines a method's declared policy with its service's default. An undeclared or
 * UNSPECIFIED value falls through; when nothing is declared the answer is "required".
 * A value that is not a known {@link Policy} throws {@link PolicyError}.
 */
export function combinePolicy(method: Policy | undefined, service: Policy | undefined): ResolvedPolicy {
  for (const p of [method, service]) {
    if (p === undefined || p === Policy.UNSPECIFIED) continue;
    if (p === Policy.REQUIRED) return "required";
    if (p === Policy.PUBLIC) return "public";
    throw new PolicyError(`unknown auth policy value ${String(p)}`);
  }
  return "required";
}

/** Resolves one method's policy from its descriptor's `(auth.v1.policy)` and its service's `(auth.v1.default_policy)`. */
export function resolvePolicy(method: DescMethod): ResolvedPolicy {
  const declared = hasOption(method, methodPolicy) ? getOption(method, methodPolicy) : undefined;
  const fallback = hasOption(method.parent, default_policy) ? getOption(method.parent, default_policy) : undefined;
  try {
    return combinePolicy(declared, fallback);
  } catch (err) {
    throw new PolicyError(`${method.parent.typeName}.${method.name}: ${(err as Error).message}`);
  }
}

/**
 * Resolves the policy of every method of the given services, at start-up. Throws
 * {@link PolicyError} naming the first method that cannot be resolved.
 */
export function resolvePolicies(
  services: readonly DescService[],
  /** Services whose .proto we do not own (health, reflection), declared public here by name. */
  publicServices: ReadonlySet<string> = new Set(),
): ReadonlyMap<DescMethod, ResolvedPolicy> {
  const table = new Map<DescMethod, ResolvedPolicy>();
  for (const service of services) {
    const isPublic = publicServices.has(service.typeName);
    for (const method of service.methods) table.set(method, isPublic ? "public" : resolvePolicy(method));
  }
  return table;
}
