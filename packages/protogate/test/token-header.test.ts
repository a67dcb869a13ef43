import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { AuthError, tokenFromHeader, tokenTag } from "../src/index.js";

const read = (v: string | null) => {
  try {
    return tokenFromHeader(v);
  } catch (err) {
    assert.ok(err instanceof AuthError, String(err));
    return `!${err.reason}`;
  }
};

test("a raw token, or Bearer in any case, with surrounding white space", () => {
  assert.equal(read("a.b.c"), "a.b.c");
  assert.equal(read("Bearer a.b.c"), "a.b.c");
  assert.equal(read("bearer   a.b.c"), "a.b.c");
  assert.equal(read("BEARER a.b.c "), "a.b.c");
  assert.equal(read("\tBearer\ta.b.c"), "a.b.c");
});

test("absent, empty and other forms are refused", () => {
  assert.equal(read(null), "!missing");
  assert.equal(read(""), "!missing");
  assert.equal(read("   "), "!missing");
  assert.equal(read("Basic dXNlcjpwYXNz"), "!malformed");
  assert.equal(read("Bearer a.b.c, Bearer d.e.f"), "!malformed");
  assert.equal(read("a.b.c d.e.f"), "!malformed");
});

test("the fast path for `Bearer <token>` reads every header as the general rule does", () => {
  const rule = (v: string) => /^\s*(?:bearer\s+)?(\S+)\s*$/i.exec(v)?.[1] ?? (v.trim() === "" ? "!missing" : "!malformed");
  const part = fc.oneof(fc.constantFrom("Bearer ", "bearer ", "Bearer", "Bearer  ", " ", "\t", "\u00a0", ".", "-", "_", ",", "a.b.c", "x"), fc.string({ maxLength: 4 }));
  fc.assert(
    fc.property(fc.array(part, { maxLength: 6 }), (parts) => {
      const header = parts.join("");
      assert.equal(read(header), rule(header));
    }),
    { seed: 17, numRuns: 2000 },
  );
});

test("tokenTag: 12 URL-safe characters, the same for the same token, revealing nothing of it", () => {
  const t = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VySWQiOjF9.c2lnbmF0dXJl";
  assert.match(tokenTag(t), /^[A-Za-z0-9_-]{12}$/);
  assert.equal(tokenTag(t), tokenTag(t));
  assert.notEqual(tokenTag(t), tokenTag(`${t}x`));
  for (const part of t.split(".")) assert.ok(!tokenTag(t).includes(part.slice(0, 6)));
});
