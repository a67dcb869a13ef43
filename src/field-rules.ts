import type { DescMessage, MessageInitShape } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import { createValidator } from "@bufbuild/protovalidate";
import { createValidateInterceptor } from "@connectrpc/validate";
import type { Interceptor } from "@connectrpc/connect";
import { AppError } from "./errors.js";
import { withLengthRuleShortcut } from "./length-rules.js";

/**
 * The process's protovalidate validator: the field rules declared in `proto/` (`buf.validate`
 * options), each message's compiled once, on first use; length-only rules met are answered
 * without it (`length-rules.ts`).
 */
const validator = withLengthRuleShortcut(createValidator());

/**
 * Refuses a call whose request breaks its message's field rules: `invalid_argument`, with the
 * message naming each field (`username: must be at least 1 characters [string.min_len]`) and a
 * `buf.validate.Violations` detail. Put it after the auth interceptor, so that a caller without
 * a valid token learns nothing of the rules.
 */
export function createFieldRulesInterceptor(): Interceptor {
  return createValidateInterceptor({ validator });
}

/**
 * Checks values outside an RPC against the same rules (`bookstore user add` stores only a
 * username and password that `Login` accepts): throws `invalid_argument` like the interceptor,
 * counting only the violations of `fields`.
 */
export function checkFieldRules<Desc extends DescMessage>(schema: Desc, init: MessageInitShape<Desc>, fields: readonly string[]): void {
  const result = validator.validate(schema, create(schema, init));
  if (result.kind === "valid") return;
  if (result.kind === "error") throw result.error;
  const broken = result.violations.flatMap((v) => {
    const field = v.field[0];
    return field?.kind === "field" && fields.includes(field.name) ? [`${field.name}: ${v.message} [${v.ruleId}]`] : [];
  });
  if (broken.length > 0) throw new AppError("invalid_argument", broken.join(", "));
}
