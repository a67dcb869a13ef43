// Descriptors built at run time, as if compiled from .proto files using protogate's options: the
// messages the tests need (requests, responses, claims, and claims messages the codec must
// refuse) and services with whatever policies a test declares.
import assert from "node:assert/strict";
import { create, createFileRegistry, setExtension, type DescFile, type DescMethodUnary, type DescService, type Message, type MessageInitShape } from "@bufbuild/protobuf";
import type { GenMessage } from "@bufbuild/protobuf/codegenv2";
import {
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  FileDescriptorProtoSchema,
  MethodOptionsSchema,
  ServiceOptionsSchema,
  file_google_protobuf_descriptor,
  type DescriptorProtoSchema,
  type FieldDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";
import { default_policy, file_protogate_v1_auth, policy, required_roles, type Policy } from "../src/index.js";

type FieldInit = MessageInitShape<typeof FieldDescriptorProtoSchema> & { name: string; number: number; type: Type };
type MessageInit = MessageInitShape<typeof DescriptorProtoSchema>;
// protoc always sets json_name, and protobuf-es reads it from there
const field = (f: FieldInit): FieldInit => ({ label: Label.OPTIONAL, jsonName: f.name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()), ...f });
const msg = (name: string, fields: FieldInit[], extra: MessageInit = {}): MessageInit => ({ name, field: fields, ...extra });
const mapEntry = (name: string) =>
  msg(name, [field({ name: "key", number: 1, type: Type.STRING }), field({ name: "value", number: 2, type: Type.STRING })], { options: { mapEntry: true } });

const scalarTypes = {
  int32: Type.INT32,
  sint32: Type.SINT32,
  sfixed32: Type.SFIXED32,
  uint32: Type.UINT32,
  fixed32: Type.FIXED32,
  int64: Type.INT64,
  sint64: Type.SINT64,
  sfixed64: Type.SFIXED64,
  uint64: Type.UINT64,
  fixed64: Type.FIXED64,
  double: Type.DOUBLE,
  float: Type.FLOAT,
  bool: Type.BOOL,
  string: Type.STRING,
  bytes: Type.BYTES,
} as const;

const messagesFile = (() => {
  const deep = [0, 1, 2, 3, 4, 5].map((i) => msg(`Deep${i}`, i < 5 ? [field({ name: "next", number: 1, type: Type.MESSAGE, typeName: `.fixture.v1.Deep${i + 1}` })] : [field({ name: "leaf", number: 1, type: Type.STRING })]));
  // the same depth through lists of messages
  const listDeep = [0, 1, 2, 3, 4, 5].map((i) =>
    msg(`ListDeep${i}`, i < 5 ? [field({ name: "next", number: 1, type: Type.MESSAGE, label: Label.REPEATED, typeName: `.fixture.v1.ListDeep${i + 1}` })] : [field({ name: "leaf", number: 1, type: Type.STRING })]),
  );
  const proto = create(FileDescriptorProtoSchema, {
    name: "fixture/v1/messages.proto",
    package: "fixture.v1",
    syntax: "proto3",
    enumType: [{ name: "Tier", value: [{ name: "TIER_UNSPECIFIED", number: 0 }, { name: "TIER_FREE", number: 1 }, { name: "TIER_PRO", number: 2 }] }],
    messageType: [
      msg("EchoRequest", [field({ name: "text", number: 1, type: Type.STRING })]),
      msg("EchoResponse", [field({ name: "text", number: 1, type: Type.STRING }), field({ name: "who", number: 2, type: Type.STRING })]),
      msg("Org", [field({ name: "name", number: 1, type: Type.STRING }), field({ name: "seats", number: 2, type: Type.UINT32 })]),
      msg(
        "Claims",
        [
          field({ name: "user_id", number: 1, type: Type.INT64 }),
          field({ name: "roles", number: 2, type: Type.STRING, label: Label.REPEATED }),
          field({ name: "sid", number: 3, type: Type.STRING, oneofIndex: 0, proto3Optional: true }),
          field({ name: "tier", number: 4, type: Type.ENUM, typeName: ".fixture.v1.Tier" }),
          field({ name: "org", number: 5, type: Type.MESSAGE, typeName: ".fixture.v1.Org" }),
          field({ name: "admin", number: 6, type: Type.BOOL }),
          field({ name: "level", number: 7, type: Type.UINT32 }),
          field({ name: "score", number: 8, type: Type.DOUBLE }),
          field({ name: "nonce", number: 9, type: Type.BYTES }),
        ],
        { oneofDecl: [{ name: "_sid" }] },
      ),
      // claims messages createJwtCodec must refuse
      msg("WithExp", [field({ name: "user_id", number: 1, type: Type.INT64 }), field({ name: "exp", number: 2, type: Type.INT64 })]),
      msg("WithJsonNameIss", [field({ name: "issuer_name", number: 1, type: Type.STRING, jsonName: "iss" })]),
      msg("WithMap", [field({ name: "labels", number: 1, type: Type.MESSAGE, label: Label.REPEATED, typeName: ".fixture.v1.WithMap.LabelsEntry" })], {
        nestedType: [mapEntry("LabelsEntry")],
      }),
      msg("WithOneof", [field({ name: "a", number: 1, type: Type.STRING, oneofIndex: 0 }), field({ name: "b", number: 2, type: Type.INT32, oneofIndex: 0 })], {
        oneofDecl: [{ name: "choice" }],
      }),
      msg("WithNestedMap", [field({ name: "inner", number: 1, type: Type.MESSAGE, typeName: ".fixture.v1.WithMap" })]),
      msg("WithListOfMaps", [field({ name: "items", number: 1, type: Type.MESSAGE, label: Label.REPEATED, typeName: ".fixture.v1.WithMap" })]),
      // a nested message may use a registered claim's name: only the top level is the JWT's
      msg("NestedExp", [field({ name: "inner", number: 1, type: Type.MESSAGE, typeName: ".fixture.v1.WithExp" })]),
      ...deep,
      ...listDeep,
      // one field of every kind a claim can be, for the claims codec's own tests
      msg("Kinds", [
        ...(["int32", "sint32", "sfixed32", "uint32", "fixed32", "int64", "sint64", "sfixed64", "uint64", "fixed64", "double", "float", "bool", "string", "bytes"] as const).map((kind, i) =>
          field({ name: kind.replace(/[0-9]+$/, (n) => `_${n}`), number: i + 1, type: scalarTypes[kind] }),
        ),
        field({ name: "tier", number: 20, type: Type.ENUM, typeName: ".fixture.v1.Tier" }),
        field({ name: "org", number: 21, type: Type.MESSAGE, typeName: ".fixture.v1.Org" }),
        field({ name: "tiers", number: 22, type: Type.ENUM, typeName: ".fixture.v1.Tier", label: Label.REPEATED }),
        field({ name: "orgs", number: 23, type: Type.MESSAGE, typeName: ".fixture.v1.Org", label: Label.REPEATED }),
        field({ name: "ids", number: 24, type: Type.INT64, label: Label.REPEATED }),
        field({ name: "blobs", number: 25, type: Type.BYTES, label: Label.REPEATED }),
      ]),
    ],
  });
  return createFileRegistry(proto, () => undefined).getFile("fixture/v1/messages.proto")!;
})();

function message<T extends Message>(name: string): GenMessage<T> {
  const desc = messagesFile.messages.find((m) => m.name === name);
  assert.ok(desc, name);
  return desc as unknown as GenMessage<T>;
}

export const Tier = { UNSPECIFIED: 0, FREE: 1, PRO: 2 } as const;
export type Tier = (typeof Tier)[keyof typeof Tier];

export type EchoRequest = Message<"fixture.v1.EchoRequest"> & { text: string };
export type EchoResponse = Message<"fixture.v1.EchoResponse"> & { text: string; who: string };
export type Org = Message<"fixture.v1.Org"> & { name: string; seats: number };
export type Claims = Message<"fixture.v1.Claims"> & {
  userId: bigint;
  roles: string[];
  sid?: string;
  tier: Tier;
  org?: Org;
  admin: boolean;
  level: number;
  score: number;
  nonce: Uint8Array;
};

export const EchoRequestSchema = message<EchoRequest>("EchoRequest");
export const EchoResponseSchema = message<EchoResponse>("EchoResponse");
export const OrgSchema = message<Org>("Org");
export const ClaimsSchema = message<Claims>("Claims");
export type ClaimsInit = MessageInitShape<typeof ClaimsSchema>;

/** Claims messages createJwtCodec must refuse, by what is wrong with them. */
export const invalidClaimsSchemas = {
  "a registered claim (exp)": message("WithExp"),
  "a JSON name that is a registered claim (iss)": message("WithJsonNameIss"),
  "a map field": message("WithMap"),
  "a oneof": message("WithOneof"),
  "a nested map": message("WithNestedMap"),
  "a map in a list of messages": message("WithListOfMaps"),
  "nesting deeper than 4": message("Deep0"),
};
/** Messages nested through repeated fields: ListDeep0 is one level too deep, ListDeep1 the deepest allowed. */
export const listDeepSchemas = { tooDeep: message("ListDeep0"), deepest: message("ListDeep1") };
/** One field of every scalar kind (named `int_32`, `sfixed_64`, `double`, ...), an enum, a message, and lists of enums, messages, int64 and bytes. */
export const KindsSchema = message("Kinds");
/** Claims nested 4 deep (Deep1 .. Deep5), the deepest allowed. */
export const DeepestClaimsSchema = message("Deep1");
/** A claims message with `exp` inside a nested message, which is allowed. */
export const NestedExpSchema = message("NestedExp");

export type EchoMethod = DescMethodUnary<typeof EchoRequestSchema, typeof EchoResponseSchema>;

/** A service of a fixture file: its default policy, and per method a policy and required roles. */
export interface ServiceSpec {
  name: string;
  defaultPolicy?: Policy;
  methods: Record<string, { policy?: Policy; roles?: string[] }>;
}

let fileCount = 0;

/**
 * Builds a file declaring the given services (every method unary EchoRequest -> EchoResponse),
 * importing protogate's auth.proto, and returns its services by name.
 */
export function fixtureServices(specs: readonly ServiceSpec[]): Record<string, DescService> {
  const name = `fixture/v1/service${++fileCount}.proto`;
  const proto = create(FileDescriptorProtoSchema, {
    name,
    package: "fixture.v1",
    syntax: "proto3",
    dependency: ["protogate/v1/auth.proto", "fixture/v1/messages.proto"],
    service: specs.map((s) => {
      let options;
      if (s.defaultPolicy !== undefined) {
        options = create(ServiceOptionsSchema);
        setExtension(options, default_policy, s.defaultPolicy);
      }
      return {
        name: s.name,
        options,
        method: Object.entries(s.methods).map(([method, m]) => {
          const o = create(MethodOptionsSchema);
          if (m.policy !== undefined) setExtension(o, policy, m.policy);
          if (m.roles !== undefined) setExtension(o, required_roles, m.roles);
          return { name: method, inputType: ".fixture.v1.EchoRequest", outputType: ".fixture.v1.EchoResponse", options: o };
        }),
      };
    }),
  });
  const deps: Record<string, DescFile> = {
    "protogate/v1/auth.proto": file_protogate_v1_auth,
    "google/protobuf/descriptor.proto": file_google_protobuf_descriptor,
    "fixture/v1/messages.proto": messagesFile,
  };
  const registry = createFileRegistry(proto, (n) => deps[n]);
  const out: Record<string, DescService> = {};
  for (const s of specs) {
    const service = registry.getService(`fixture.v1.${s.name}`);
    assert.ok(service, s.name);
    out[s.name] = service;
  }
  return out;
}

/** One service `fixture.v1.FixtureService` with the given default and methods. */
export function fixtureService(defaultPolicy: Policy | undefined, methods: ServiceSpec["methods"]): DescService {
  return fixtureServices([{ name: "FixtureService", defaultPolicy, methods }]).FixtureService!;
}

/** A method of a fixture service, typed as the unary echo it is. */
export function echoMethod(service: DescService, name: string): EchoMethod {
  const method = service.methods.find((m) => m.name === name);
  assert.ok(method, name);
  assert.equal(method.methodKind, "unary");
  assert.equal(method.input, EchoRequestSchema);
  return method as EchoMethod;
}
