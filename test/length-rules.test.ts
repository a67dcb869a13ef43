// The length-rule shortcut against protovalidate itself: over generated strings (lone
// surrogates, pairs, lengths at the bounds), each message must get the same result, kind and
// violations, from both; and the shortcut must be what answers a request that meets its lengths.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, createFileRegistry, setExtension, type DescMessage } from "@bufbuild/protobuf";
import { FieldDescriptorProto_Label, FieldDescriptorProto_Type, FieldOptionsSchema, FileDescriptorProtoSchema, MessageOptionsSchema } from "@bufbuild/protobuf/wkt";
import { createValidator, type Validator } from "@bufbuild/protovalidate";
import { field as fieldRules, FieldRulesSchema, Ignore, message as messageRules, MessageRulesSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import fc from "fast-check";
import { DoRequestSchema } from "../src/gen/search/v1/search_pb.js";
import { LoginRequestSchema } from "../src/gen/user/v1/user_pb.js";
import { withLengthRuleShortcut } from "../src/length-rules.js";

const T = FieldDescriptorProto_Type;
const optional = FieldDescriptorProto_Label.OPTIONAL;
type StringRules = { minLen?: bigint; maxLen?: bigint; len?: bigint; pattern?: string };
type Extra = { ignore?: Ignore; cel?: { id: string; message: string; expression: string }[] };
const stringField = (name: string, number: number, rules?: StringRules, extra: Extra = {}) => {
  const options = create(FieldOptionsSchema);
  if (rules !== undefined) setExtension(options, fieldRules, create(FieldRulesSchema, { ...extra, type: { case: "string", value: rules } }));
  return { name, number, type: T.STRING, label: optional, jsonName: name, options };
};
const celOnMessage = create(MessageOptionsSchema);
setExtension(celOnMessage, messageRules, create(MessageRulesSchema, { cel: [{ id: "short", message: "s is short", expression: "size(this.s) < 4" }] }));

const registry = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "probe/v1/rules.proto",
    package: "probe.v1",
    syntax: "proto3",
    dependency: ["buf/validate/validate.proto"],
    messageType: [
      { name: "Lengths", field: [stringField("s", 1, { minLen: 2n, maxLen: 5n }), stringField("t", 2, { minLen: 3n }), stringField("u", 3, { maxLen: 4n }), stringField("free", 4), { name: "n", number: 5, type: T.INT64, label: optional, jsonName: "n" }] },
      { name: "Exact", field: [stringField("s", 1, { len: 3n })] },
      { name: "Pattern", field: [stringField("s", 1, { minLen: 1n, pattern: "^a" })] },
      { name: "Ignored", field: [stringField("s", 1, { minLen: 2n }, { ignore: Ignore.IF_ZERO_VALUE })] },
      { name: "FieldCel", field: [stringField("s", 1, { minLen: 1n }, { cel: [{ id: "not_ab", message: "not ab", expression: "this != 'ab'" }] })] },
      { name: "MessageCel", field: [stringField("s", 1, { minLen: 1n })], options: celOnMessage },
    ],
  }),
  (name) => (name === "buf/validate/validate.proto" ? fieldRules.file : undefined),
);
const probe = (name: string) => registry.getMessage(`probe.v1.${name}`)!;
const shortcut = [DoRequestSchema, probe("Lengths")];
const others = [LoginRequestSchema, probe("Exact"), probe("Pattern"), probe("Ignored"), probe("FieldCel"), probe("MessageCel")];

const text = fc.oneof(
  fc.string({ maxLength: 7 }),
  fc.string({ unit: "binary", maxLength: 7 }),
  fc.constantFrom("", "a", "ab", "\ud800", "\udc00", "\ud83d\ude00", "a\ud800", "\ud800\ud800", "\udc00\ud800", "ab\ud83d\ude00cd", "aaaa\ud83d\ude00"),
  // code units around surrogates, at and across the bounds
  fc.array(fc.constantFrom("a", "\ud800", "\udbff", "\udc00", "\udfff", "\ud83d\ude00", "\ue000", "\ud7ff"), { maxLength: 7 }).map((a) => a.join("")),
  fc.string({ minLength: 250, maxLength: 260 }),
  fc.string({ unit: "binary", minLength: 126, maxLength: 130 }).map((s) => s + s),
);

function messageArb(desc: DescMessage): fc.Arbitrary<Record<string, unknown>> {
  const strings = desc.fields.filter((f) => f.fieldKind === "scalar" && f.scalar === 9);
  return fc.tuple(...strings.map(() => text)).map((values) => {
    const m = create(desc) as Record<string, unknown>;
    strings.forEach((f, i) => (m[f.localName] = values[i]));
    return m;
  });
}

/** A result with the parts that say what was found: kind, error message, each violation. */
function summary(r: ReturnType<Validator["validate"]>) {
  return { kind: r.kind, error: r.error?.message, violations: r.violations?.map((v) => ({ rule: v.ruleId, message: v.message, field: v.field.toString() })) };
}

describe("length-rule shortcut", () => {
  for (const desc of [...shortcut, ...others]) {
    it(`answers ${desc.typeName} as protovalidate does`, () => {
      const plain = createValidator();
      const fast = withLengthRuleShortcut(createValidator());
      fc.assert(
        fc.property(messageArb(desc), (m) => {
          assert.deepStrictEqual(summary(fast.validate(desc, m as never)), summary(plain.validate(desc, m as never)));
        }),
        { seed: 20261207, numRuns: 500 },
      );
    });
  }

  it("answers a message that meets its lengths itself, and leaves the rest to protovalidate", () => {
    let asked = 0;
    const counting: Validator = { validate: (schema, message) => (asked++, createValidator().validate(schema, message)) };
    const fast = withLengthRuleShortcut(counting);
    assert.equal(fast.validate(DoRequestSchema, create(DoRequestSchema, { name: "go-zero" })).kind, "valid");
    assert.equal(fast.validate(DoRequestSchema, create(DoRequestSchema, { name: "x".repeat(255) })).kind, "valid");
    // at each bound, counted in code points: a pair is one, so is a lone surrogate
    const lengths = (s: string, t: string, u: string) => fast.validate(probe("Lengths"), create(probe("Lengths"), { s, t, u } as never)).kind;
    assert.equal(lengths("ab", "\ud83d\ude00\ud83d\ude00\ud83d\ude00", ""), "valid");
    assert.equal(lengths("\ud83d\ude00\ud800\udc00\udbff\udfffab", "\udc00\ud800a", "\ud800\ud800\udfff\udfff"), "valid");
    assert.equal(asked, 0);
    assert.equal(lengths("ab", "\udc00\udc00", ""), "invalid");
    assert.equal(lengths("ab", "abc", "\ue000\ue000\ud83d\ude00\ud7ff\ud7ff"), "invalid");
    assert.equal(lengths("ab", "abc", "\ud800\ue000\udbff\ue000\ud800"), "invalid");
    asked = 0;
    assert.equal(fast.validate(DoRequestSchema, create(DoRequestSchema, { name: "" })).kind, "invalid");
    assert.equal(asked, 1);
    for (const desc of others) fast.validate(desc, create(desc) as never);
    assert.equal(asked, 1 + others.length);
    // a message of another type is protovalidate's to refuse
    assert.equal(fast.validate(DoRequestSchema, { $typeName: "search.v1.Other", name: "go-zero" } as never).kind, "error");
    assert.equal(asked, 2 + others.length);
  });
});
