// The outage state shared by the serving-path cache, the login limits' fallback and the auth
// event feed: back-off after a failure, one probe per interval, the outage told once each way.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createFailOpen, failureCode } from "../../src/lib/fail-open.js";

const clockAt = (start = 1_000_000) => {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
};
const refused = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });

test("after a failure the backend is left alone for retryAfterMs, then probed", async () => {
  const clock = clockAt();
  const told: string[] = [];
  const backend = createFailOpen({ retryAfterMs: 1000, clock, onDown: (err) => told.push(`down ${failureCode(err)}`), onUp: () => told.push("up") });
  let calls = 0;
  let up = false;
  const call = () =>
    backend.run(
      async () => {
        calls++;
        if (!up) throw refused;
        return "backend";
      },
      () => "fallback",
    );

  assert.equal(await call(), "fallback");
  assert.equal(calls, 1);
  assert.equal(backend.down, true);
  clock.advance(999);
  assert.equal(await call(), "fallback");
  assert.equal(calls, 1, "skipped within the back-off");
  clock.advance(1);
  assert.equal(await call(), "fallback", "the probe fails");
  assert.equal(calls, 2);
  clock.advance(500);
  assert.equal(await call(), "fallback");
  assert.equal(calls, 2, "a failed probe starts the back-off again");
  up = true;
  clock.advance(500);
  assert.equal(await call(), "backend");
  assert.equal(await call(), "backend");
  assert.equal(calls, 4);
  assert.equal(backend.down, false);
  assert.deepEqual(told, ["down ECONNREFUSED", "up"], "one outage, told once when it starts and once when it ends");
});

test("attempt ignores the back-off, records the outcome and rethrows", async () => {
  const clock = clockAt();
  const told: string[] = [];
  const backend = createFailOpen({ retryAfterMs: 60_000, clock, onDown: () => told.push("down"), onUp: () => told.push("up") });
  await assert.rejects(backend.attempt(() => Promise.reject(refused)), refused);
  await assert.rejects(backend.attempt(() => Promise.reject(refused)), refused);
  assert.deepEqual(told, ["down"]);
  assert.equal(await backend.attempt(async () => 7), 7, "tried at once, back-off or not");
  assert.deepEqual(told, ["down", "up"]);
  // run still skips while an attempt's failure is recent
  await assert.rejects(backend.attempt(() => Promise.reject(refused)));
  let ran = false;
  assert.equal(await backend.run(async () => (ran = true), () => false), false);
  assert.equal(ran, false);
});

test("without retryAfterMs every call tries; a fallback's own error is thrown", async () => {
  const backend = createFailOpen();
  let calls = 0;
  const failing = async () => {
    calls++;
    throw refused;
  };
  await backend.run(failing, () => undefined);
  await backend.run(failing, () => undefined);
  assert.equal(calls, 2);
  await assert.rejects(
    backend.run(failing, () => {
      throw new Error("fallback broke");
    }),
    /fallback broke/,
  );
});

test("failureCode: the error's code, else its name", () => {
  assert.equal(failureCode(refused), "ECONNREFUSED");
  assert.equal(failureCode(new TypeError("x")), "TypeError");
  assert.equal(failureCode(undefined), undefined);
  assert.equal(failureCode(null), undefined);
});
