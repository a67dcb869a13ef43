import assert from "node:assert/strict";
import { afterEach, beforeEach, mock, test } from "node:test";
import { startBackgroundJobs, startPruning, startRevocationSweep } from "../../src/wiring/jobs.js";
import { memoryLogger } from "../harness.js";

beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "setInterval"] }));
afterEach(() => mock.timers.reset());

const fixedClock = { now: () => 1_700_000_000_000 };
const settle = () => new Promise<void>((r) => setImmediate(r));

function pruneDeps(result: { tokens: number; events: number } | Error = { tokens: 0, events: 0 }) {
  const calls: number[] = [];
  const { logger, lines } = memoryLogger();
  return {
    calls,
    lines,
    deps: {
      sessionStore: {
        prune: async (now: number) => {
          calls.push(now);
          if (result instanceof Error) throw result;
          return result.tokens;
        },
      },
      events: { prune: async () => (result instanceof Error ? 0 : result.events) },
      clock: fixedClock,
      logger,
    },
  };
}

test("the prune runs 10 s after start, then hourly, and not after it is stopped", async () => {
  const { calls, deps } = pruneDeps();
  const stop = startPruning(deps);
  mock.timers.tick(9_999);
  assert.equal(calls.length, 0);
  mock.timers.tick(1);
  assert.deepEqual(calls, [1_700_000_000], "pruned at epoch seconds of the clock");
  mock.timers.tick(3600_000 - 10_000);
  assert.equal(calls.length, 2, "hourly from start");
  stop();
  mock.timers.tick(2 * 3600_000);
  assert.equal(calls.length, 2);
});

test("the prune logs what it deleted, nothing when nothing was, and the code of a failure", async () => {
  for (const [result, expected] of [
    [{ tokens: 0, events: 0 }, undefined],
    [{ tokens: 2, events: 3 }, "expired refresh tokens and auth events deleted"],
    [Object.assign(new Error("x"), { code: "ECONNREFUSED" }), "could not delete expired refresh tokens or auth events"],
  ] as const) {
    const { deps, lines } = pruneDeps(result);
    const stop = startPruning(deps);
    mock.timers.tick(10_000);
    await settle();
    stop();
    const logged = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
    assert.deepEqual(logged, expected === undefined ? [] : [expected]);
  }
});

test("the sweep runs every minute until stopped; startBackgroundJobs stops both", () => {
  let sweeps = 0;
  const stop = startRevocationSweep({ revocations: { sweep: () => void sweeps++ } });
  mock.timers.tick(120_000);
  assert.equal(sweeps, 2);
  stop();
  mock.timers.tick(120_000);
  assert.equal(sweeps, 2);

  const { calls, deps } = pruneDeps();
  const stopAll = startBackgroundJobs({ ...deps, revocations: { sweep: () => void sweeps++ } });
  mock.timers.tick(60_000);
  assert.equal(sweeps, 3);
  assert.equal(calls.length, 1);
  stopAll();
  mock.timers.tick(2 * 3600_000);
  assert.equal(sweeps, 3);
  assert.equal(calls.length, 1);
});
