// The flat-message JSON shortcut of the lean unary path against Connect's own JSON serialization
// (protobuf-es underneath): over generated request bodies and response messages, each must
// parse to the same message or fail with the same error, and write the same bytes or fail the
// same way, for our flat messages and for one holding every integer kind.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, createFileRegistry, equals, type DescMessage, type DescMethodUnary, type JsonReadOptions, type JsonWriteOptions } from "@bufbuild/protobuf";
import { FieldDescriptorProto_Label, FieldDescriptorProto_Type, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { ConnectError } from "@connectrpc/connect";
import { createMethodSerializationLookup, type Serialization } from "@connectrpc/connect/protocol";
import fc from "fast-check";
import { createFlatJsonSerialization } from "../../src/http/lean-unary/flat-json.js";
import { SearchService } from "../../src/gen/search/v1/search_pb.js";
import { UserService } from "../../src/gen/user/v1/user_pb.js";

const T = FieldDescriptorProto_Type;
const scalarFields: [string, FieldDescriptorProto_Type][] = [
  ["a_string", T.STRING],
  ["flag", T.BOOL],
  ["i32", T.INT32],
  ["s32", T.SINT32],
  ["sf32", T.SFIXED32],
  ["u32", T.UINT32],
  ["f32", T.FIXED32],
  ["i64", T.INT64],
  ["s64", T.SINT64],
  ["u64", T.UINT64],
  ["f64", T.FIXED64],
];
const probeFile = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "probe/v1/probe.proto",
    package: "probe.v1",
    syntax: "proto3",
    messageType: [
      {
        name: "Scalars",
        field: scalarFields.map(([name, type], i) => ({ name, number: i + 1, type, label: FieldDescriptorProto_Label.OPTIONAL, jsonName: name.replace(/_(\w)/g, (_, c: string) => c.toUpperCase()) })),
      },
      { name: "WithDouble", field: [{ name: "d", number: 1, type: T.DOUBLE, label: FieldDescriptorProto_Label.OPTIONAL, jsonName: "d" }] },
      {
        name: "WithOptional",
        field: [{ name: "s", number: 1, type: T.STRING, label: FieldDescriptorProto_Label.OPTIONAL, jsonName: "s", proto3Optional: true, oneofIndex: 0 }],
        oneofDecl: [{ name: "_s" }],
      },
    ],
    service: [{ name: "Probe", method: [{ name: "Echo", inputType: ".probe.v1.Scalars", outputType: ".probe.v1.Scalars" }] }],
  }),
  () => undefined,
);
const Probe = probeFile.getService("probe.v1.Probe")!;

type JsonOptions = Partial<JsonReadOptions & JsonWriteOptions>;
const ours: JsonOptions = { alwaysEmitImplicit: true, ignoreUnknownFields: false }; // src/main.ts
const optionSets: { name: string; json: JsonOptions | undefined; max: number }[] = [
  { name: "the server's options", json: ours, max: 1 << 20 },
  { name: "Connect's defaults", json: undefined, max: 1 << 20 },
  { name: "proto names, unknown keys ignored, 40-byte limits", json: { useProtoFieldName: true, ignoreUnknownFields: true }, max: 40 },
];
const methods = [SearchService.method.do, SearchService.method.ping, UserService.method.login, UserService.method.refresh, Probe.methods[0]!] as DescMethodUnary[];

function pair(desc: DescMessage, direction: "I" | "O", method: DescMethodUnary, json: JsonOptions | undefined, max: number) {
  const limits = { readMaxBytes: max, writeMaxBytes: max };
  const lookup = createMethodSerializationLookup(method, undefined, json, limits);
  const slow = (direction === "I" ? lookup.getI(false) : lookup.getO(false)) as Serialization<unknown>;
  return { slow, fast: createFlatJsonSerialization(desc, { jsonOptions: json, ...limits }, slow) };
}

/** What one side did: the message or bytes it gave, or the error it threw (class, code, message). */
function outcome(fn: () => unknown): { ok: unknown } | { threw: unknown } {
  try {
    return { ok: fn() };
  } catch (e) {
    return { threw: { name: (e as Error).constructor.name, code: e instanceof ConnectError ? e.code : undefined, message: (e as Error).message } };
  }
}

function assertSame(desc: DescMessage, fast: ReturnType<typeof outcome>, slow: ReturnType<typeof outcome>, what: string): void {
  assert.deepStrictEqual(fast, slow, what);
  if ("ok" in slow && "ok" in fast && !(slow.ok instanceof Uint8Array)) assert.ok(equals(desc, fast.ok as never, slow.ok as never), what);
}

// literals JSON.stringify never writes, and values at the edges of each kind
const special = [
  ...['"\\ud800"', '"a\\udc00b"', '"\\ud83d\\ude00"', '"a:b"', '"\\":"'],
  ...["-0", "1.0", "1e2", "-0.0", "1E400", "null", "[]", "{}", '{"a":1}', "[1,2]", "true", "false", "tru", "trux", "fals", "falsy", "falsey", "01", "-01", "00", "-", "-x", "123456789012", "-2147483649", "1".padEnd(400, "0")],
  ...[-0, 2 ** 31, 2 ** 31 - 1, -(2 ** 31), -(2 ** 31) - 1, 2 ** 32 - 1, 2 ** 32, 2 ** 53, 1.5].map(String),
  // escapes, and bytes JSON refuses or that are not ASCII, inside strings
  ...['"\\\\"', '"a\\\\b"', '"\\"a"', '"\\u0041"', '"\\/"', '"a\tb"', '"a\u0001"', '"\u007f"', '"\u00e9"'],
  ...["0", "-0", "01", " 1", "1 ", "1e3", "", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "18446744073709551615", "18446744073709551616", "0x10"].map((s) => JSON.stringify(s)),
];

// one member of a JSON object, as text: a key (a field's name or JSON name, an unknown one, an
// escaped spelling) and a value (any JSON value, and literals JSON.stringify never writes)
function memberArb(desc: DescMessage): fc.Arbitrary<string> {
  const names = desc.fields.flatMap((f) => [f.name, f.jsonName]);
  const key = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...(names.length > 0 ? names : ["x"])).map((k) => JSON.stringify(k)) },
    fc.constantFrom("x", "__proto__", "[probe.v1.ext]", "").map((k) => JSON.stringify(k)),
    fc.constantFrom(...(names.length > 0 ? names : ["x"])).map((k) => `"\\u${k.charCodeAt(0).toString(16).padStart(4, "0")}${k.slice(1)}"`),
  );
  const value = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...special) },
    { weight: 2, arbitrary: fc.string().map((s) => JSON.stringify(s)) },
    { weight: 1, arbitrary: fc.string({ unit: "binary" }).map((s) => JSON.stringify(s)) },
    { weight: 1, arbitrary: fc.boolean().map(String) },
    { weight: 1, arbitrary: fc.integer().map(String) },
    { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 65n), max: 2n ** 65n }).map((n) => JSON.stringify(n.toString())) },
  );
  // mostly JSON's own white space; now and then a character JSON does not count as such
  const ws = fc.oneof({ weight: 8, arbitrary: fc.constantFrom("", " ", "\n\t ", "\r") }, { weight: 1, arbitrary: fc.constantFrom("\u000b", "\u000c", "\u00a0") });
  return fc.tuple(ws, key, ws, value, ws).map(([a, k, b, v, c]) => `${a}${k}${b}:${c}${v}${a}`);
}

function bodyArb(desc: DescMessage): fc.Arbitrary<Uint8Array> {
  const text = fc.oneof(
    { weight: 8, arbitrary: fc.array(memberArb(desc), { maxLength: 3 }).map((ms) => `{${ms.join(",")}}`) },
    fc.json(),
    fc.constantFrom("", "{", "null", "[]", '"x"', "1", "{}", " {} ", "{}{}", '{"a":{"b":1}}', "{,}", "{ }x", "\ufeff{}"),
    // a body, then something after it
    fc.tuple(fc.array(memberArb(desc), { minLength: 1, maxLength: 3 }), fc.constantFrom(" x", "}", ",", "\n", " {}", "\u000b")).map(([ms, tail]) => `{${ms.join(",")}}${tail}`),
  );
  return fc.oneof(
    { weight: 8, arbitrary: text.map((t) => new TextEncoder().encode(t)) },
    fc.uint8Array({ maxLength: 24 }),
    // invalid UTF-8 inside a string value
    fc.constantFrom(...desc.fields.map((f) => f.jsonName), "x").map((k) => Buffer.concat([Buffer.from(`{"${k}":"a`), Buffer.from([0xff, 0xc3]), Buffer.from('"}')])),
  );
}

// a value of any kind for a field: protobuf-es's own forms and the ones a handler might return instead
const anyValue = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.constantFrom("\ud800", "", "0", "12", 'a"b', "a\\b", "\u0001", "a\tb", "\u007f", "\u00e9", "\u2028"),
  fc.boolean(),
  fc.integer(),
  fc.constantFrom(0, -0, 1.5, NaN, Infinity, 2 ** 40),
  fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }),
  fc.constantFrom(0n, undefined, null),
);

function messageArb(desc: DescMessage): fc.Arbitrary<unknown> {
  const values = fc.array(fc.tuple(fc.constantFrom(...(desc.fields.length > 0 ? desc.fields : [undefined])), anyValue), { maxLength: 4 });
  return fc.oneof(
    { weight: 8, arbitrary: values.map((vs) => {
      const m = create(desc) as Record<string, unknown>;
      for (const [f, v] of vs) if (f !== undefined) m[f.localName] = v;
      return m;
    }) },
    fc.constant({}),
    fc.constant(create(desc)),
  );
}

describe("flat-message JSON", () => {
  it("takes the shortcut only for flat messages and plain options", () => {
    const fb: Serialization<unknown> = { parse: () => undefined, serialize: () => new Uint8Array() };
    const opts = { readMaxBytes: 100, writeMaxBytes: 100 };
    for (const m of methods) {
      assert.notEqual(createFlatJsonSerialization(m.input, { jsonOptions: ours, ...opts }, fb), fb, m.input.typeName);
      assert.notEqual(createFlatJsonSerialization(m.output, { jsonOptions: ours, ...opts }, fb), fb, m.output.typeName);
    }
    for (const name of ["probe.v1.WithDouble", "probe.v1.WithOptional"]) {
      assert.equal(createFlatJsonSerialization(probeFile.getMessage(name)!, { jsonOptions: ours, ...opts }, fb), fb, name);
    }
    const scalars = Probe.methods[0]!.input;
    assert.equal(createFlatJsonSerialization(scalars, { jsonOptions: { registry: probeFile }, ...opts }, fb), fb);
    assert.equal(createFlatJsonSerialization(scalars, { jsonOptions: { prettySpaces: 2 } as JsonOptions, ...opts }, fb), fb);
  });

  it("answers the plain case itself, without protobuf-es", () => {
    const never: Serialization<unknown> = {
      parse: () => assert.fail("fell back to protobuf-es"),
      serialize: () => assert.fail("fell back to protobuf-es"),
    };
    const opts = { jsonOptions: ours, readMaxBytes: 1000, writeMaxBytes: 1000 };
    const input = createFlatJsonSerialization(SearchService.method.do.input, opts, never);
    const message = input.parse(new TextEncoder().encode(' { "name" : "go-zero" } ')) as { name: string };
    assert.equal(message.name, "go-zero");
    const output = createFlatJsonSerialization(UserService.method.login.output, opts, never);
    const bytes = output.serialize(create(UserService.method.login.output, { id: 7n, name: "bob", accessToken: "t\u00e9" }));
    assert.equal(new TextDecoder().decode(bytes), '{"id":"7","name":"bob","gender":"","accessToken":"t\u00e9","accessExpire":"0","refreshAfter":"0","refreshToken":"","refreshExpire":"0"}');
  });

  it("writes a frozen message once and sends the same bytes again; any other message is written anew", () => {
    for (const m of methods) {
      const { slow, fast } = pair(m.output, "O", m, ours, 1 << 20);
      fc.assert(
        fc.property(messageArb(m.output), (generated) => {
          const message = Object.freeze({ ...(generated as object) }) as typeof generated;
          const first = outcome(() => fast.serialize(message));
          assertSame(m.output, first, outcome(() => slow.serialize(message)), m.output.typeName);
          if ("ok" in first) assert.deepEqual(fast.serialize(message), first.ok, "the second write gives the first one's bytes");
        }),
        { seed: 20261207, numRuns: 100 },
      );
    }
    // a message that can still change is written every time, as it is then
    const out = createFlatJsonSerialization<unknown>(SearchService.method.do.output, { jsonOptions: ours, readMaxBytes: 1000, writeMaxBytes: 1000 }, { parse: () => assert.fail(), serialize: () => assert.fail() });
    const frozen = Object.freeze(create(SearchService.method.do.output, { name: "a", count: 1n }));
    assert.equal(out.serialize(frozen), out.serialize(frozen), "a frozen message's bytes are written once");
    const message = create(SearchService.method.do.output, { name: "a", count: 1n });
    const before = out.serialize(message);
    message.name = "b";
    assert.notEqual(out.serialize(message), before);
    assert.equal(new TextDecoder().decode(out.serialize(message)), '{"name":"b","count":"1"}');
  });

  it("reads every edge literal in every field as protobuf-es does", () => {
    for (const { json, max } of optionSets) {
      for (const m of methods) {
        const { slow, fast } = pair(m.input, "I", m, json, max);
        for (const f of m.input.fields) {
          for (const key of new Set([f.name, f.jsonName])) {
            for (const literal of special) {
              const bytes = new TextEncoder().encode(`{"${key}":${literal}}`);
              assertSame(m.input, outcome(() => fast.parse(bytes)), outcome(() => slow.parse(bytes)), `${m.input.typeName} {"${key}":${literal}}`);
            }
          }
        }
      }
    }
  });

  for (const { name, json, max } of optionSets) {
    it(`parses every body as protobuf-es does (${name})`, () => {
      for (const m of methods) {
        for (const [desc, dir] of [[m.input, "I"], [m.output, "O"]] as const) {
          const { slow, fast } = pair(desc, dir, m, json, max);
          fc.assert(
            fc.property(bodyArb(desc), (bytes) => {
              assertSame(desc, outcome(() => fast.parse(bytes)), outcome(() => slow.parse(bytes)), `${desc.typeName} ${Buffer.from(bytes).toString("hex")}`);
            }),
            { seed: 20261207, numRuns: 400 },
          );
        }
      }
    });

    it(`writes every message as protobuf-es does (${name})`, () => {
      for (const m of methods) {
        for (const [desc, dir] of [[m.input, "I"], [m.output, "O"]] as const) {
          const { slow, fast } = pair(desc, dir, m, json, max);
          fc.assert(
            fc.property(messageArb(desc), (message) => {
              assertSame(desc, outcome(() => fast.serialize(message)), outcome(() => slow.serialize(message)), desc.typeName);
            }),
            { seed: 20261207, numRuns: 300 },
          );
        }
      }
    });
  }
});
