import assert from "node:assert/strict";
import { test } from "node:test";
import { isCanonicalCompactJws, maxTokenLength } from "../src/lib/token-syntax.js";

const good = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VySWQiOjF9.c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlMTIzNDU2";

test("accepts a canonical compact JWS", () => {
  assert.equal(isCanonicalCompactJws(good), true);
  assert.equal(isCanonicalCompactJws("YQ.YWI.YWJj"), true); // 2, 3 and 4 chars, unused bits clear
});

test("refuses everything a lenient decoder would also accept", () => {
  const bad: Record<string, string> = {
    empty: "",
    "two segments": "a.b",
    "four segments": "a.b.c.d",
    "empty segment": "eyJhbGciOiJIUzI1NiJ9..c2ln",
    padding: "YQ==.YWI.YWJj",
    whitespace: "YQ.YWI.YW Jj",
    newline: "YQ.YWI.YWJj\n",
    "standard alphabet": "YQ.YW+.YWJj",
    "slash": "YQ.YW/.YWJj",
    "length 1 mod 4": "YQ.YWJjZ.YWJj",
    "unused bits set (2 chars)": "YR.YWI.YWJj",
    "unused bits set (3 chars)": "YQ.YWJ.YWJj",
    "thousands of dots": "a".repeat(10) + ".".repeat(5000),
    "too long": "YQ.YWI." + "A".repeat(maxTokenLength),
  };
  for (const [name, token] of Object.entries(bad)) {
    assert.equal(isCanonicalCompactJws(token), false, name);
  }
});
