// Token verification on one core, in a process of its own: the raw HMAC floor (decode, HMAC,
// compare, JSON.parse) against this project's verifier (the compiled build, as the server runs
// it) on first sight of distinct tokens. The two alternate in short slices so that a change in
// the machine's speed falls on both alike. Prints one JSON line: {"hmacFloor":n,"firstSight":n}.
// Usage: node bench/verify.mjs SECRET MILLISECONDS
import { createHmac, timingSafeEqual } from "node:crypto";
import { createTokenService } from "../dist/auth/tokens.js";
import { systemClock } from "../dist/clock.js";

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
const verify = (t) => tokens.verify(t);

/** Runs `fn` over the tokens for about `slice` ms; returns [calls, milliseconds]. */
async function run(fn, slice, from) {
  let n = 0;
  const t = performance.now();
  while (performance.now() - t < slice) await fn(distinct[(from + n++) % distinct.length]);
  return [n, performance.now() - t];
}

await run(raw, 200, 0);
await run(verify, 200, 0);
const slices = 8;
const totals = { raw: [0, 0], verify: [0, 0] };
for (let s = 0; s < slices; s++) {
  for (const [name, fn] of [["raw", raw], ["verify", verify]]) {
    const [n, t] = await run(fn, ms / slices, s * 2500);
    totals[name][0] += n;
    totals[name][1] += t;
  }
}
const rate = ([n, t]) => Math.round(n / (t / 1000));
console.log(JSON.stringify({ hmacFloor: rate(totals.raw), firstSight: rate(totals.verify) }));
