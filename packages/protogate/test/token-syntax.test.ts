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

test("the edges: the whole string is the token, at most maxTokenLength long, each segment's own rules", () => {
  const exactly = `YQ.YWJj.${"A".repeat(maxTokenLength - 8)}`;
  assert.equal(exactly.length, maxTokenLength);
  assert.equal(isCanonicalCompactJws(exactly), true, "exactly maxTokenLength");
  assert.equal(isCanonicalCompactJws(`YQ.YWJj.${"A".repeat(maxTokenLength - 4)}`), false, "four characters more");
  // nothing before or after the three segments
  for (const t of ["!YQ.YWI.YWJj", "YQ.YWI.YWJj!", " YQ.YWI.YWJj", "YQ.YWI.YWJj ", "YQ.YWI.YWJj!!!A"]) assert.equal(isCanonicalCompactJws(t), false, JSON.stringify(t));
  // a segment of length 1 mod 4 decodes to nothing whole: refused in every position
  for (const t of ["YWJjZ.YWI.YWJj", "YQ.YWJjZ.YWJj", "YQ.YWI.YWJjZ", "Z.YQ.YQ", "YWJjA.YWI.YWJj", "YQ.YWI.YWJjA", "A.YQ.YQ"]) assert.equal(isCanonicalCompactJws(t), false, t);
  // 2 chars carry 8 bits (the last char's 4 low bits unused), 3 carry 16 (its 2 low bits unused)
  assert.equal(isCanonicalCompactJws("YE.YWI.YWJj"), false, "E = 4: a bit that only the 2-char rule sees");
  assert.equal(isCanonicalCompactJws("YQ.YWE.YWJj"), true, "E = 4 ends a 3-char segment well");
  assert.equal(isCanonicalCompactJws("YQ.YWB.YWJj"), false, "B = 1 does not");
});
