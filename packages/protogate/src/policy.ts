import { getOption, hasOption, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { default_policy, policy as methodPolicy, Policy, required_roles } from "./gen/protogate/v1/auth_pb.js";

/** Whether a method needs a token, once its declaration is resolved. */
export type ResolvedPolicy = "required" | "public" | "optional";

/** What a method demands of a caller: its policy, and roles the token must carry. */
export interface MethodAuth {
  readonly policy: ResolvedPolicy;
  readonly roles: readonly string[];
}

/** Every method's resolved policy, by descriptor: what {@link resolvePolicies} returns. */
export type PolicyTable = ReadonlyMap<DescMethod, MethodAuth>;

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
    if (p === Policy.OPTIONAL) return "optional";
    throw new PolicyError(`unknown auth policy value ${String(p)}`);
  }
  return "required";
}

/**
 * Resolves one method's policy from its descriptor's `(protogate.v1.policy)` and its service's
 * `(protogate.v1.default_policy)`, and its `(protogate.v1.required_roles)`.
 */
export function resolvePolicy(method: DescMethod): ResolvedPolicy {
  return resolveMethodAuth(method).policy;
}

function resolveMethodAuth(method: DescMethod): MethodAuth {
  const name = `${method.parent.typeName}.${method.name}`;
  const declared = hasOption(method, methodPolicy) ? getOption(method, methodPolicy) : undefined;
  const fallback = hasOption(method.parent, default_policy) ? getOption(method.parent, default_policy) : undefined;
  let policy: ResolvedPolicy;
  try {
    policy = combinePolicy(declared, fallback);
  } catch (err) {
    throw new PolicyError(`${name}: ${(err as Error).message}`);
  }
  const roles = declaredRoles(method);
  if (roles.length > 0 && policy !== "required") throw new PolicyError(`${name}: required_roles need POLICY_REQUIRED, not ${policy}`);
  if (roles.some((r) => !/^[A-Za-z0-9_.:-]{1,64}$/.test(r))) throw new PolicyError(`${name}: a required role is not a plain name`);
  return Object.freeze({ policy, roles: Object.freeze([...roles]) });
}

/** The method's `(protogate.v1.required_roles)`, as declared (none when unset). */
export function declaredRoles(method: DescMethod): readonly string[] {
  return hasOption(method, required_roles) ? getOption(method, required_roles) : [];
}

/** Whether a service or one of its methods declares any protogate option. */
function declaresAuth(service: DescService): boolean {
  return hasOption(service, default_policy) || service.methods.some((m) => hasOption(m, methodPolicy) || hasOption(m, required_roles));
}

/**
 * Resolves the policy of every method of the given services, at start-up. Throws
 * {@link PolicyError} naming the first method that cannot be resolved, and for a service named
 * in `publicServices` that declares options of its own (the two would disagree).
 *
 * @example
 * const policies = resolvePolicies([GreeterService, Health], new Set([Health.typeName]));
 */
export function resolvePolicies(
  services: readonly DescService[],
  /** Services whose .proto we do not own (health, reflection), declared public here by name. */
  publicServices: ReadonlySet<string> = new Set(),
): PolicyTable {
  const table = new Map<DescMethod, MethodAuth>();
  const open: MethodAuth = Object.freeze({ policy: "public", roles: Object.freeze([]) });
  for (const service of services) {
    const isPublic = publicServices.has(service.typeName);
    if (isPublic && declaresAuth(service)) {
      throw new PolicyError(`${service.typeName} declares its own auth options: leave it out of publicServices, or its declarations would be ignored`);
    }
    for (const method of service.methods) table.set(method, isPublic ? open : resolveMethodAuth(method));
  }
  return table;
}
