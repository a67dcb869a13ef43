import assert from "node:assert/strict";
import { test } from "node:test";
import { maxJsonDepth, parseStrictJsonObject } from "../src/lib/strict-json.js";

const parse = (text: string | Uint8Array) => parseStrictJsonObject(typeof text === "string" ? Buffer.from(text, "utf8") : text);
const nest = (levels: number) => "{\"a\":".repeat(levels) + "1" + "}".repeat(levels);

test("accepts what a JWT holds, with prototype-free objects at every depth", () => {
  const v = parse(' {"alg" : "HS256","roles":["a","b"],"n":-0.5e3,"o":{"x":null,"y":true,"z":false},"s":"q\\"uote\\":{}"} ');
  assert.deepEqual(JSON.parse(JSON.stringify(v)), { alg: "HS256", roles: ["a", "b"], n: -500, o: { x: null, y: true, z: false }, s: 'q"uote":{}' });
  assert.equal(Object.getPrototypeOf(v), null);
  assert.equal(Object.getPrototypeOf(v!.o), null);
  const proto = parse('{"__proto__":{"userId":1}}')!;
  assert.equal(proto.userId, undefined, "__proto__ is data, not a prototype");
  assert.ok(Object.hasOwn(proto, "__proto__"));
});

test("refuses duplicates at any depth, however they are spelled", () => {
  for (const text of [
    '{"a":1,"a":2}',
    '{"a":1,"\\u0061":2}',
    '{"o":{"b":1,"b":1}}',
    '{"l":[{"c":1,"c":2}]}',
    '{"a":1,"x":"\\"a\\":","a":3}',
  ]) {
    assert.equal(parse(text), undefined, text);
  }
  assert.ok(parse('{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}'), "the same name in different objects is fine");
});

test("refuses what JSON.parse would let through or mangle", () => {
  assert.ok(parse(nest(maxJsonDepth)));
  assert.equal(parse(nest(maxJsonDepth + 1)), undefined, "too deep");
  assert.equal(parse("\ufeff{}"), undefined, "byte-order mark");
  assert.equal(parse(Uint8Array.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), undefined, "invalid UTF-8");
  assert.equal(parse('{"exp":1e400}'), undefined, "non-finite number");
  for (const text of ["[]", "1", '"s"', "null", "{", '{"a":1,}', "{'a':1}", '{"a":01}', "{} {}", ""]) assert.equal(parse(text), undefined, text);
});

test("arrays count towards the depth; white space before a member's colon is any JSON white space", () => {
  const arrays = (levels: number) => '{"a":' + "[".repeat(levels - 1) + "1" + "]".repeat(levels - 1) + "}";
  assert.ok(parse(arrays(maxJsonDepth)), "arrays to the limit");
  assert.equal(parse(arrays(maxJsonDepth + 1)), undefined, "arrays one deeper");
  for (const ws of [" ", "\t", "\n", "\r", " \t\r\n "]) {
    assert.ok(parse(`{"a"${ws}:1,"b"${ws}:{"c"${ws}:2}}`), JSON.stringify(ws));
    assert.equal(parse(`{"a"${ws}:1,"a"${ws}:2}`), undefined, `a duplicate behind ${JSON.stringify(ws)}`);
  }
});
