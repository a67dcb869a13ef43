// Token verification on one core, in a process of its own: the raw HMAC floor (decode, HMAC,
// compare, JSON.parse) against this project's verifier (the compiled build, as the server runs
// it) on first sight of distinct tokens. The two alternate in short slices so that a change in
// the machine's speed falls on both alike (`interleave.mjs`). Prints one JSON line: {"hmacFloor":n,"firstSight":n}.
// Usage: node bench/verify.mjs SECRET MILLISECONDS
import { createHmac, timingSafeEqual } from "node:crypto";
import { createTokenService } from "../dist/auth/tokens.js";
import { systemClock } from "../dist/clock.js";
import { interleavedRates } from "./interleave.mjs";

const [secret, msArg] = process.argv.slice(2);
const ms = Number(msArg);
const tokens = await createTokenService({ secret, accessExpire: 3600, clock: systemClock });
const distinct = await Promise.all(Array.from({ length: 20_000 }, (_, i) => tokens.issue(1 + (i % 1000)).then((t) => t.token)));
const key = Buffer.from(secret);
const raw = (t) => {
  const d2 = t.lastIndexOf(".");
  const mac = createHmac("sha256", key).update(t.slice(0, d2)).digest();
  const sig = Buffer.from(t.slice(d2 + 1), "base64url");
  if (!timingSafeEqual(sig, mac)) throw new Error("bad");
  return JSON.parse(Buffer.from(t.slice(t.indexOf(".") + 1, d2), "base64url").toString());
};
let i = 0;
let j = 0;
const [hmacFloor, firstSight] = await interleavedRates(
  () => raw(distinct[i++ % distinct.length]),
  () => tokens.verify(distinct[j++ % distinct.length]),
  { ms, slices: 8, warmupCalls: 10_000 },
);
console.log(JSON.stringify({ hmacFloor: Math.round(hmacFloor), firstSight: Math.round(firstSight) }));
